//! libFuzzer entry of the `selection` target (`fuzz::targets::selection`); built by `.ci/fuzz` only.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::targets::selection(data));
