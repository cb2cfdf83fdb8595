//! Boards as data: placeholder, filled by the flow work.
