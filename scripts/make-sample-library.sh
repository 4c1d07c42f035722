#!/usr/bin/env bash
# Generate the bundled sample library: a few seconds of synthetic audio (sine tones and
# seeded noise) in every format the server is expected to serve, with tags, nested
# folders, awkward file names, an upper-case extension and non-audio files to ignore.
#
# Usage: scripts/make-sample-library.sh [OUTPUT_DIR]   (default: sample-library)
#
# The output is deterministic for a given ffmpeg build: only fixed sources are used
# (sine, anoisesrc with a fixed seed), container/encoder version strings and random
# Ogg serial numbers are suppressed with bitexact flags, input metadata is dropped
# with -map_metadata -1 and only the tags given here are written. The directory's
# previous contents are removed, so running it again recreates the same library.
set -euo pipefail

OUT="${1:-sample-library}"

command -v ffmpeg >/dev/null 2>&1 || { echo "make-sample-library: ffmpeg not found" >&2; exit 1; }

# Refuse obviously dangerous targets before wiping the directory.
case "$OUT" in
  ''|/|.|..) echo "make-sample-library: refusing to use '$OUT' as the output directory" >&2; exit 1 ;;
esac

rm -rf -- "$OUT"
mkdir -p -- "$OUT"

export LC_ALL=C.UTF-8

# Common ffmpeg options: quiet, never read stdin, overwrite, bit-exact output.
FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)
BITEXACT=(-fflags +bitexact -flags:a +bitexact -map_metadata -1 -map_chapters -1)

made=()

# gen REL_PATH DURATION LAVFI_SOURCE TITLE ARTIST ALBUM TRACK -- ENCODER_OPTIONS...
gen() {
  local rel="$1" dur="$2" src="$3" title="$4" artist="$5" album="$6" track="$7"
  shift 7
  [[ "${1:-}" == "--" ]] && shift
  local dst="$OUT/$rel"
  mkdir -p -- "$(dirname -- "$dst")"
  "${FF[@]}" -f lavfi -i "$src" -t "$dur" \
    "${BITEXACT[@]}" \
    -metadata title="$title" -metadata artist="$artist" -metadata album="$album" \
    -metadata track="$track" \
    "$@" -- "$dst"
  made+=("$rel")
}

# --- Aurora Tones / First Light: plain tones, three formats ------------------------------
gen "Aurora Tones/First Light/01 Sunrise.flac" 3 \
  "sine=frequency=440:sample_rate=22050" \
  "Sunrise" "Aurora Tones" "First Light" "1/3" -- \
  -ac 1 -ar 22050 -sample_fmt s16 -c:a flac -compression_level 8

gen "Aurora Tones/First Light/02 Morning Chord.mp3" 4 \
  "aevalsrc=exprs=0.3*sin(2*PI*261.63*t)+0.3*sin(2*PI*329.63*t)+0.3*sin(2*PI*392*t):sample_rate=22050" \
  "Morning Chord" "Aurora Tones" "First Light" "2/3" -- \
  -ac 1 -ar 22050 -c:a libmp3lame -b:a 48k -id3v2_version 3 -write_id3v1 1

gen "Aurora Tones/First Light/03 Noon Hum.wav" 2 \
  "sine=frequency=220:sample_rate=16000" \
  "Noon Hum" "Aurora Tones" "First Light" "3/3" -- \
  -ac 1 -ar 16000 -c:a pcm_s16le

# --- Émilie Ölund / Café Noir: non-ASCII names, Ogg Vorbis and AAC -------------------------
gen "Émilie Ölund/Café Noir/01 Café Noir.ogg" 4 \
  "aevalsrc=exprs=0.5*sin(2*PI*330*t)*(0.6+0.4*sin(2*PI*2*t)):sample_rate=22050" \
  "Café Noir" "Émilie Ölund" "Café Noir" "1/2" -- \
  -ac 1 -ar 22050 -c:a libvorbis -q:a 2

# AAC in MP4: +faststart moves the moov atom to the front so the file decodes from a pipe.
gen "Émilie Ölund/Café Noir/02 Crème Brûlée.m4a" 3 \
  "sine=frequency=523.25:sample_rate=22050" \
  "Crème Brûlée" "Émilie Ölund" "Café Noir" "2/2" -- \
  -ac 1 -ar 22050 -c:a aac -b:a 48k -movflags +faststart

# --- Various Artists / Noise Études / Disc 1: three directory levels, seeded noise ---------
# (-sample_fmt s16: noise sources are float, and FLAC would otherwise pick 24-bit.)
gen "Various Artists/Noise Études/Disc 1/01 Pink Noise.flac" 2 \
  "anoisesrc=color=pink:seed=42:amplitude=0.3:sample_rate=16000" \
  "Pink Noise" "Various Artists" "Noise Études" "1/3" -- \
  -ac 1 -ar 16000 -sample_fmt s16 -c:a flac -compression_level 8

# Upper-case extension: must still be recognised as audio.
gen "Various Artists/Noise Études/Disc 1/02 Brown Noise.MP3" 3 \
  "anoisesrc=color=brown:seed=7:amplitude=0.5:sample_rate=22050" \
  "Brown Noise" "Various Artists" "Noise Études" "2/3" -- \
  -f mp3 -ac 1 -ar 22050 -c:a libmp3lame -b:a 32k -id3v2_version 3

gen "Various Artists/Noise Études/Disc 1/03 White Noise.ogg" 2 \
  "anoisesrc=color=white:seed=1234:amplitude=0.2:sample_rate=16000" \
  "White Noise" "Various Artists" "Noise Études" "3/3" -- \
  -ac 1 -ar 16000 -c:a libvorbis -q:a 0

# --- Top-level single: an apostrophe in the name, AAC ---------------------------------------
gen "Singles/Don't Panic.m4a" 2 \
  "sine=frequency=880:sample_rate=22050" \
  "Don't Panic" "The Testers" "Singles" "1/1" -- \
  -ac 1 -ar 22050 -c:a aac -b:a 32k -movflags +faststart

gen "Singles/Short Beep.wav" 2 \
  "sine=frequency=1000:sample_rate=8000" \
  "Short Beep" "The Testers" "Singles" "2/2" -- \
  -ac 1 -ar 8000 -c:a pcm_s16le

# --- Non-audio files the server must ignore -------------------------------------------------
printf 'Cover art placeholder for "First Light" by Aurora Tones.\nThis is not audio; the server must not list it.\n' \
  > "$OUT/Aurora Tones/First Light/cover.txt"
made+=("Aurora Tones/First Light/cover.txt")
printf 'Sample library generated by scripts/make-sample-library.sh.\nAll audio is synthetic (sine tones and seeded noise) and free to redistribute.\nThis file is not audio; the server must not list it.\n' \
  > "$OUT/notes.txt"
made+=("notes.txt")

# Fixed timestamps so that archives of the directory are reproducible too.
find "$OUT" -exec touch -h -d '2024-01-01 00:00:00 UTC' {} +

echo "make-sample-library: created in $OUT:"
for rel in "${made[@]}"; do
  printf '  %8d  %s\n' "$(stat -c %s -- "$OUT/$rel")" "$rel"
done
printf 'make-sample-library: %d files, %s bytes in total\n' "${#made[@]}" "$(du -sb -- "$OUT" | cut -f1)"
