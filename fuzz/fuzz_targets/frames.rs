#![no_main]
libfuzzer_sys::fuzz_target!(|input: &[u8]| rbft_fuzz::run("frames", input));
