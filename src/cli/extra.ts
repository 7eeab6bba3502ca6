/**
 * Commands beyond the core (attacks, report, convert) register themselves here, so that the
 * dispatcher stays one list.
 */
import { registerCommand } from "./main";
import { attacksCommand, attacksSpec } from "./attacks";

registerCommand({ spec: attacksSpec, run: attacksCommand });
import { convertCommand, convertSpec } from "./convert";

registerCommand({ spec: convertSpec, run: convertCommand });
import { reportCommand, reportSpec } from "./report";

registerCommand({ spec: reportSpec, run: reportCommand });
import { figureCommand, figureSpec } from "./figure";

registerCommand({ spec: figureSpec, run: figureCommand });
import { dynamicsCommand, dynamicsSpec } from "./dynamics";

registerCommand({ spec: dynamicsSpec, run: dynamicsCommand });
