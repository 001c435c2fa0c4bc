//! The `/probe` answer: the configured `Devices.xml` as written, with the header an agent
//! writes (this instance's id and buffer size) and, for `/<device>/probe`, only that device.

use std::fmt::Write as _;
use std::ops::Range;

use chatter_mtconnect::time::format_timestamp;
use roxmltree::Document;

/// Where the parts an answer changes sit in the device model's text.
#[derive(Debug, Clone)]
pub(super) struct ProbeTemplate {
    text: String,
    /// The `Header` element, if the file has one.
    header: Option<Range<usize>>,
    /// Where new header goes when the file has none: just inside the root element.
    root_content: usize,
    /// The children of `Devices` (`Device`, `Agent`), with their `id`.
    devices: Vec<(String, Range<usize>)>,
}

/// What the header says.
pub(super) struct HeaderValues {
    pub instance_id: u64,
    pub buffer_size: usize,
    pub creation_time: i64,
}

impl ProbeTemplate {
    /// The template of `text`, a device model that parsed as one.
    pub(super) fn new(text: String) -> Result<Self, roxmltree::Error> {
        let (header, root_content, devices) = {
            let document = Document::parse(&text)?;
            let root = document.root_element();
            let header = root
                .children()
                .find(|node| node.is_element() && node.tag_name().name() == "Header")
                .map(|node| node.range());
            let root_content = root
                .first_child()
                .map_or(root.range().end, |child| child.range().start);
            let devices = root
                .children()
                .filter(|node| node.is_element() && node.tag_name().name() == "Devices")
                .flat_map(|devices| devices.children().filter(|node| node.is_element()))
                .map(|device| {
                    let id = device.attribute("id").unwrap_or_default().to_owned();
                    (id, device.range())
                })
                .collect();
            (header, root_content, devices)
        };
        Ok(ProbeTemplate {
            text,
            header,
            root_content,
            devices,
        })
    }

    /// The probe document with `values` in its header, keeping only the device with id
    /// `device` when given.
    pub(super) fn render(&self, values: &HeaderValues, device: Option<&str>) -> String {
        let header = header_element(values);
        // (range to replace, replacement), in document order.
        let mut edits: Vec<(Range<usize>, &str)> = Vec::new();
        match &self.header {
            Some(range) => edits.push((range.clone(), &header)),
            None => edits.push((self.root_content..self.root_content, &header)),
        }
        if let Some(wanted) = device {
            for (id, range) in &self.devices {
                if id != wanted {
                    edits.push((range.clone(), ""));
                }
            }
        }
        edits.sort_by_key(|(range, _)| range.start);
        let mut out = String::with_capacity(self.text.len() + 128);
        let mut at = 0;
        for (range, replacement) in edits {
            if range.start < at {
                continue;
            }
            out.push_str(&self.text[at..range.start]);
            out.push_str(replacement);
            at = range.end;
        }
        out.push_str(&self.text[at..]);
        out
    }
}

fn header_element(values: &HeaderValues) -> String {
    let mut header = String::from("<Header");
    let _ = write!(
        header,
        " creationTime=\"{}\" sender=\"chatter-replay\" instanceId=\"{}\" version=\"2.0.0.0\" \
         bufferSize=\"{}\" assetBufferSize=\"1024\" assetCount=\"0\"/>",
        format_timestamp(values.creation_time),
        values.instance_id,
        values.buffer_size
    );
    header
}

#[cfg(test)]
mod tests {
    use chatter_mtconnect::devices::DeviceModel;

    use super::*;

    const MODEL: &str = r#"<?xml version="1.0"?>
<MTConnectDevices xmlns="urn:mtconnect.org:MTConnectDevices:1.3">
  <Header creationTime="2015-01-01T00:00:00Z" instanceId="1" bufferSize="9" sender="x" version="1.3"/>
  <Devices>
    <Device id="a" name="A" uuid="ua"><DataItems><DataItem id="a1" category="EVENT" type="EXECUTION"/></DataItems></Device>
    <Device id="b" name="B" uuid="ub"><DataItems><DataItem id="b1" category="EVENT" type="EXECUTION"/></DataItems></Device>
  </Devices>
</MTConnectDevices>"#;

    fn values() -> HeaderValues {
        HeaderValues {
            instance_id: 77,
            buffer_size: 512,
            creation_time: 0,
        }
    }

    #[test]
    fn the_header_is_the_instance_s_own() {
        let template = ProbeTemplate::new(MODEL.to_owned()).unwrap();
        let probe = template.render(&values(), None);
        assert!(probe.contains("instanceId=\"77\""), "{probe}");
        assert!(probe.contains("bufferSize=\"512\""));
        assert!(!probe.contains("instanceId=\"1\""));
        assert_eq!(DeviceModel::parse(&probe).unwrap().devices.len(), 2);
    }

    #[test]
    fn a_device_probe_keeps_only_that_device() {
        let template = ProbeTemplate::new(MODEL.to_owned()).unwrap();
        let probe = template.render(&values(), Some("b"));
        let model = DeviceModel::parse(&probe).unwrap();
        let names: Vec<&str> = model.devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["B"]);
    }
}
