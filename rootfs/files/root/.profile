# root's login profile (after /etc/profile).
cd "$HOME" 2>/dev/null || true
