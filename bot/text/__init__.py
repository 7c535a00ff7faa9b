"""Pure text helpers: time parsing, digits and charts."""
