//! `/proc/net/{tcp,tcp6,udp,udp6}` (Linux's `tcp4_seq_show`, `udp4_format_sock`...).
