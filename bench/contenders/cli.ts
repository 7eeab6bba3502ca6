/** The aligndepth CLI as the bench's build has it (the same source as bin/aligndepth.js runs from dist/). */
import { main } from "../../src/cli/main";

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
