/**
 * Speeds up music-metadata on the tag workers: each parse builds a fresh set of tag mappers
 * (MetadataCollector → CombinedTagMapper, eleven of them), and each case-insensitive one
 * upper-cases every key of its tag map again. That was about a quarter of a tag worker's
 * CPU time on a first start (CPU profile, music-metadata 11.16.1; docs/BENCHMARKS.md,
 * scenario 11). The maps are constants of their modules, never written to, so the
 * upper-cased copy of each is made once per thread here and shared by every mapper.
 *
 * How: a derived class's `super(...)` calls whatever its constructor's prototype is at the
 * time, so each case-insensitive mapper is given a parent that does what
 * CaseInsensitiveTagMap's constructor does, with the copy cached. The instances keep their
 * prototype chain (CaseInsensitiveTagMap's lookup included). The modules are loaded by file
 * beside music-metadata's entry point (the package exports none of them): if a version lays
 * them out differently, or the classes are not what is expected, nothing is changed and
 * parsing is only slower. Tests compare the tags read this way with a plain parse.
 */

type TagMap = Record<string, unknown>;
type MapperClass = abstract new (...args: never[]) => object;

/** music-metadata's modules with a mapper derived from CaseInsensitiveTagMap, and the class each exports. */
const CASE_INSENSITIVE_MAPPERS: readonly (readonly [string, string])[] = [
  ['id3v2/ID3v22TagMapper.js', 'ID3v22TagMapper'],
  ['id3v2/ID3v24TagMapper.js', 'ID3v24TagMapper'],
  ['mp4/MP4TagMapper.js', 'MP4TagMapper'],
  ['apev2/APEv2TagMapper.js', 'APEv2TagMapper'],
  ['matroska/MatroskaTagMapper.js', 'MatroskaTagMapper'],
];

let installed: Promise<number> | undefined;

/** Installs the shared maps in this thread (once); resolves with how many mappers now share them. */
export function shareTagMaps(): Promise<number> {
  installed ??= install().catch(() => 0);
  return installed;
}

async function install(): Promise<number> {
  const base = import.meta.resolve('music-metadata');
  const load = (file: string): Promise<Record<string, unknown>> => import(new URL(file, base).href) as Promise<Record<string, unknown>>;
  const { CaseInsensitiveTagMap } = (await load('./common/CaseInsensitiveTagMap.js')) as { CaseInsensitiveTagMap?: MapperClass };
  const { CommonTagMapper } = (await load('./common/GenericTagMapper.js')) as { CommonTagMapper?: new (tagTypes: string[], tagMap: TagMap) => object };
  if (typeof CaseInsensitiveTagMap !== 'function' || typeof CommonTagMapper !== 'function') return 0;
  if (Object.getPrototypeOf(CaseInsensitiveTagMap) !== CommonTagMapper) return 0;
  const upperCased = new WeakMap<TagMap, TagMap>();
  class SharedCaseInsensitiveTagMap extends CommonTagMapper {
    constructor(tagTypes: string[], tagMap: TagMap) {
      let upper = upperCased.get(tagMap);
      if (!upper) {
        upper = {};
        for (const tag of Object.keys(tagMap)) upper[tag.toUpperCase()] = tagMap[tag];
        upperCased.set(tagMap, upper);
      }
      super(tagTypes, upper);
    }
  }
  let shared = 0;
  for (const [file, name] of CASE_INSENSITIVE_MAPPERS) {
    const mapper = (await load(`./${file}`).catch((): Record<string, unknown> => ({})))[name];
    if (typeof mapper !== 'function' || Object.getPrototypeOf(mapper) !== CaseInsensitiveTagMap) continue;
    Object.setPrototypeOf(mapper, SharedCaseInsensitiveTagMap);
    shared++;
  }
  return shared;
}
