"""govhall: an integrated online government services platform (一体化在线政务服务平台)."""
