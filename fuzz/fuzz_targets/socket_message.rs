//! Socket client messages: any text frame is read as the socket loop reads it
//! (subscribe, unsubscribe, ping, or an error answer), never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gateway::read_client_frame(text);
    }
});
