//! Haas Machine Data Collection (MDC) without I/O: Q-command requests, STX…ETB framed replies.
