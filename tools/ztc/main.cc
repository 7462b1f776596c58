#include <iostream>

#include "tools/ztc/cli.h"

int main(int argc, char** argv) { return ztc::run_cli(argc, argv, std::cout, std::cerr); }
