//! libFuzzer entry of the `cli_yaml` target (`fuzz::targets::cli_yaml`); built by `.ci/fuzz` only.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::targets::cli_yaml(data));
