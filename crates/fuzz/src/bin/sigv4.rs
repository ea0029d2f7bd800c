//! libFuzzer entry of the `sigv4` target (`fuzz::targets::sigv4`); built by `.ci/fuzz` only.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::targets::sigv4(data));
