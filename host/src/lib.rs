//! Host tool: placeholder.
