/**
 * Commands beyond the core (attacks, report, convert) register themselves here, so that the
 * dispatcher stays one list.
 */
export {};
