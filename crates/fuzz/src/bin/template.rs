//! libFuzzer entry of the `template` target (`fuzz::targets::template`); built by `.ci/fuzz` only.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::targets::template(data));
