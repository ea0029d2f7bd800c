//! libFuzzer entry of the `management_path` target (`fuzz::targets::management_path`); built by `.ci/fuzz` only.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::targets::management_path(data));
