//! Machine tiles as the dashboard and the wall display draw them: each tile's shown values, the
//! state filter with a count per state, and the group filter. Filtering happens in the page as
//! data changes; the server marks the tiles a filter hides so the page is right before any
//! script runs.

use chatter_model::MachineStatus;

use crate::floor::{self, Tile};

/// The tiles of a floor screen with its filters.
pub(crate) struct FloorView {
    /// Every machine's tile, by name.
    pub(crate) tiles: Vec<TileView>,
    /// "All" and each state, with how many machines are in it.
    pub(crate) states: Vec<StateChoice>,
    /// The groups to filter by.
    pub(crate) groups: Vec<GroupChoice>,
    /// The state filter (`""`: all).
    pub(crate) state: String,
    /// The group filter (`""`: all).
    pub(crate) group: String,
    /// How many tiles the filters leave.
    pub(crate) shown: usize,
    /// Whether tiles link to their machine's page (not on a wall display, which cannot open it).
    pub(crate) links: bool,
}

/// A tile's values, as shown.
pub(crate) struct TileView {
    pub(crate) id: String,
    pub(crate) name: String,
    /// Its group, `""` for none.
    pub(crate) group: String,
    /// The status as the API names it (`running`, …): the tile's class and icon.
    pub(crate) status: &'static str,
    pub(crate) label: &'static str,
    /// Since when it has had the status, in ms since the Unix epoch; `""` when unknown.
    pub(crate) since_ms: String,
    /// How long it has had the status, as shown before the page's script takes over.
    pub(crate) since_text: String,
    pub(crate) program: String,
    pub(crate) alarm: String,
    pub(crate) parts: u64,
    pub(crate) goal: Option<u64>,
    /// Why its data may be stale, `""` when it is not.
    pub(crate) collection: &'static str,
    /// Whether a filter hides it.
    pub(crate) hidden: bool,
}

/// A choice of the state filter.
pub(crate) struct StateChoice {
    /// As the filter sends it (`""`: all).
    pub(crate) value: &'static str,
    pub(crate) label: &'static str,
    pub(crate) count: usize,
    pub(crate) selected: bool,
}

/// A choice of the group filter.
pub(crate) struct GroupChoice {
    pub(crate) name: String,
    pub(crate) selected: bool,
}

impl FloorView {
    /// The view of `tiles` under the filters a request asked for; unknown filter values are
    /// ignored, not errors (they come from links and bookmarks).
    pub(crate) fn new(tiles: Vec<Tile>, state: Option<String>, group: Option<String>) -> Self {
        let state = state
            .and_then(|state| {
                MachineStatus::ALL
                    .into_iter()
                    .find(|status| status.as_str() == state)
            })
            .map_or("", MachineStatus::as_str);
        let groups = floor::groups(&tiles);
        let group = group
            .filter(|group| groups.contains(group))
            .unwrap_or_default();
        let now_ms = chatter_model::now_ms();
        let tiles: Vec<TileView> = tiles
            .into_iter()
            .map(|tile| TileView::new(tile, now_ms, state, &group))
            .collect();
        FloorView {
            states: state_choices(&tiles, state),
            groups: groups
                .into_iter()
                .map(|name| GroupChoice {
                    selected: name == group,
                    name,
                })
                .collect(),
            shown: tiles.iter().filter(|tile| !tile.hidden).count(),
            tiles,
            state: state.to_owned(),
            group,
            links: true,
        }
    }
}

impl TileView {
    fn new(tile: Tile, now_ms: i64, state: &str, group: &str) -> Self {
        let status = tile.state.status.as_str();
        let tile_group = tile.group.unwrap_or_default();
        TileView {
            hidden: (!state.is_empty() && state != status)
                || (!group.is_empty() && group != tile_group),
            id: tile.id.to_string(),
            name: tile.name,
            group: tile_group,
            status,
            label: tile.state.label,
            since_ms: tile
                .state
                .since_ms
                .map(|ms| ms.to_string())
                .unwrap_or_default(),
            since_text: tile
                .state
                .since_ms
                .map(|since| elapsed(now_ms - since))
                .unwrap_or_default(),
            program: tile.state.program.unwrap_or_default(),
            alarm: tile.state.alarm.unwrap_or_default(),
            parts: tile.state.parts_today,
            goal: tile.goal,
            collection: tile.state.collection.unwrap_or_default(),
        }
    }
}

fn state_choices(tiles: &[TileView], selected: &str) -> Vec<StateChoice> {
    let all = StateChoice {
        value: "",
        label: "All",
        count: tiles.len(),
        selected: selected.is_empty(),
    };
    // In the order people scan a floor for: what needs them first.
    let order = [
        MachineStatus::Alarm,
        MachineStatus::Running,
        MachineStatus::Paused,
        MachineStatus::Setup,
        MachineStatus::Idle,
        MachineStatus::Offline,
    ];
    std::iter::once(all)
        .chain(order.into_iter().map(|status| {
            StateChoice {
                value: status.as_str(),
                label: floor::status_label(status),
                count: tiles
                    .iter()
                    .filter(|tile| tile.status == status.as_str())
                    .count(),
                selected: selected == status.as_str(),
            }
        }))
        .collect()
}

/// A span of time as a tile shows it: `3 min`, `2 h 05 min`, `3 d 4 h`.
pub(crate) fn elapsed(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    match minutes {
        0 => "under a minute".to_owned(),
        1..60 => format!("{minutes} min"),
        60..1440 => format!("{} h {:02} min", minutes / 60, minutes % 60),
        _ => format!("{} d {} h", minutes / 1440, minutes % 1440 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::elapsed;

    #[test]
    fn elapsed_time_reads_naturally() {
        assert_eq!(elapsed(-5), "under a minute");
        assert_eq!(elapsed(59_999), "under a minute");
        assert_eq!(elapsed(12 * 60_000), "12 min");
        assert_eq!(elapsed(125 * 60_000), "2 h 05 min");
        assert_eq!(elapsed((3 * 1440 + 4 * 60 + 59) * 60_000), "3 d 4 h");
    }
}
