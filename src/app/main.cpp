#include "app/cli.h"

int main(int argc, char** argv, char** envp) { return barbossa::run_cli(argc, argv, envp); }
