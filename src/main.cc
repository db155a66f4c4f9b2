// The one codeswarm executable: router daemon, worker runtime and client commands.
#include "cli/cli.h"

int main(int argc, char** argv) { return codeswarm::cli::Main(argc, argv); }
