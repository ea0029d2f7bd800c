//! libFuzzer entry of the `cli_shorthand` target (`fuzz::targets::cli_shorthand`); built by `.ci/fuzz` only.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::targets::cli_shorthand(data));
