//! Flow runner: placeholder.
