import { main } from "/work/wt-figures/src/cli/main";
main(process.argv.slice(2)).then((c) => process.exit(c));
