//! Decodes an SHDR capture with the driver's own decoder and prints what it found and how fast:
//!
//! ```sh
//! cargo run -p shdr --release --example decode -- okuma.txt demo-Devices.xml OKUMA
//! ```
//!
//! Arguments: the capture, then optionally a Devices.xml and the device's name, uuid or id.

use std::time::Instant;

use shdr::{Decoder, DecoderOptions, DeviceModel};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(log) = args.first() else {
        return Err("usage: decode <capture> [devices.xml [device]]".into());
    };
    let bytes = std::fs::read(log).map_err(|e| format!("{log}: {e}"))?;
    let device = match args.get(1) {
        Some(path) => {
            let xml = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            let model = DeviceModel::parse(&xml).map_err(|e| format!("{path}: {e}"))?;
            let chosen = match args.get(2) {
                Some(selector) => model.device(selector),
                None => model.devices.first(),
            };
            Some(chosen.cloned().ok_or("no such device in the model")?)
        }
        None => None,
    };

    let rounds = 20;
    let mut observations = 0;
    let started = Instant::now();
    let mut decoder = Decoder::new(device.clone(), DecoderOptions::default());
    for _ in 0..rounds {
        decoder = Decoder::new(device.clone(), DecoderOptions::default());
        let mut out = Vec::new();
        for chunk in bytes.chunks(64 * 1024) {
            decoder.feed_at(chunk, 0, &mut out);
        }
        decoder.finish_at(0, &mut out);
        observations = out.len();
    }
    let seconds = started.elapsed().as_secs_f64() / f64::from(rounds);
    let stats = decoder.stats();
    println!(
        "{log}: {} lines, {observations} observations, {} bad lines, {} unknown keys, \
         {} backwards timestamps, {} assets",
        stats.lines, stats.bad_lines, stats.unknown_keys, stats.backwards_timestamps, stats.assets
    );
    println!(
        "{:.2} ms per pass: {:.1} MB/s, {:.2} M observations/s",
        seconds * 1e3,
        bytes.len() as f64 / seconds / 1e6,
        observations as f64 / seconds / 1e6
    );
    Ok(())
}
