# Sourced by the Java fixtures' build.sh (internal/resttest/fixture,
# internal/hmstest/fixture), which fill a directory out of the repository
# with jars from Maven Central. What it gives them:
#
#   fixture_begin OUT HERE  exits the script (0) when OUT was built from the
#                           pom.xml, build.sh and src in HERE as they are,
#                           and from this file (their hash is in OUT/STAMP);
#                           else sets $stage to a new directory beside OUT,
#                           removed should the script fail.
#   fixture_end OUT         stamps $stage and puts it in OUT's place.
#
# So a build happens beside the last good one and replaces it whole: a jar
# of an older pin never lingers on the classpath, and a failed build leaves
# the last good one in place.

fixture_lib="${BASH_SOURCE[0]}"

fixture_begin() {
	local out="$1" here="$2"
	fixture_hash="$({
		(cd "$here" && find pom.xml build.sh src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
		sha256sum <"$fixture_lib"
	} | sha256sum | cut -d' ' -f1)"
	if [[ -f "$out/STAMP" && "$(cat "$out/STAMP")" == "$fixture_hash" ]]; then
		exit 0
	fi
	mkdir -p "$(dirname "$out")"
	stage="$(mktemp -d "$out.build.XXXXXX")"
	trap 'rm -rf "$stage"' EXIT
}

fixture_end() {
	local out="$1"
	echo "$fixture_hash" >"$stage/STAMP"
	rm -rf "$out"
	mv "$stage" "$out"
	trap - EXIT
}
