// libFuzzer's driver, called from each fuzz target's entry point: SwiftPM links an executable's
// `main` to `<Module>_main`, so a target defines that and hands its test function to libFuzzer.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test)(const uint8_t *data, size_t size));
