# Sourced by the scripts here: where the build lives, and building it.

# The test VM sees the host's root but not its /tmp, /var/tmp or /run, so
# a checkout there builds elsewhere.  Anywhere but build/, say where (on
# stderr): that is where a failed build's logs and the demo's files are.
vac_build_dir() {
	local dir=build why=''
	case "$PWD/" in
	/tmp/* | /var/tmp/* | /run/*)
		dir=${XDG_CACHE_HOME:-$HOME/.cache}/vac-build/$(echo "$PWD" | md5sum | cut -c1-12)
		why="the test VM cannot see $PWD"
		;;
	esac
	[[ -z ${BUILD_DIR:-} ]] || { dir=$BUILD_DIR why="BUILD_DIR"; }
	[[ $dir == build ]] || echo "build directory: $dir ($why)" >&2
	echo "$dir"
}

# vac_build DIR [TARGET...]: everything, or only the targets named.
vac_build() {
	local dir=$1
	shift
	cmake -S . -B "$dir" -DBUILD_TESTING=ON >/dev/null
	cmake --build "$dir" -j"$(nproc)" ${1:+--target "$@"} >/dev/null
}
