//! libFuzzer entry of the `mapping` target (`fuzz::targets::mapping`); built by `.ci/fuzz` only.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::targets::mapping(data));
