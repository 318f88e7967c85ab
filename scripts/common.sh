# Sourced by the scripts here: where the build lives, and building it.

# The test VM sees the host's root but not its /tmp, /var/tmp or /run, so
# a checkout there builds elsewhere.
vac_build_dir() {
	local dir=build
	case "$PWD/" in
	/tmp/* | /var/tmp/* | /run/*)
		dir=${XDG_CACHE_HOME:-$HOME/.cache}/vac-build/$(echo "$PWD" | md5sum | cut -c1-12)
		;;
	esac
	echo "${BUILD_DIR:-$dir}"
}

# vac_build DIR [TARGET...]: everything, or only the targets named.
vac_build() {
	local dir=$1
	shift
	cmake -S . -B "$dir" -DBUILD_TESTING=ON >/dev/null
	cmake --build "$dir" -j"$(nproc)" ${1:+--target "$@"} >/dev/null
}
