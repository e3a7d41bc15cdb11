// mlc-sandbox: serves every emulator this build registered (mlc_sandbox_add_emulator in the vendors'
// folders); the command line is the kit's (sandbox_main.cpp). `mlc-sandbox --list` names them.
#include "mlc/sandbox/emulator.hpp"

int main(int argc, char** argv) {
  mlc::sandbox::EmulatorRegistry registry;
  mlc::sandbox::RegisterBuiltEmulators(registry);
  return mlc::sandbox::RunSandboxMain(argc, argv, registry);
}
