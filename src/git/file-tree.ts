/**
 * A read-only view of an environments repository: either the working tree on disk or the tree of
 * one commit. `validate`, the builder and the Action read specs and policy only through this, so
 * "read at that commit" (`git show`, never the working tree) is a matter of which tree is passed.
 */
export interface FileTree {
  /** What this tree is, for messages: a folder path, or `<ref> (<sha12>)`. */
  readonly label: string;
  /** Every file path (POSIX, relative to the repository root), sorted. */
  list(): Promise<string[]>;
  /** The file's bytes, or undefined when the tree has no such file. */
  read(path: string): Promise<Buffer | undefined>;
  /** The file's size in bytes without reading it (so a 5 GB "spec" is refused cheaply). */
  size(path: string): Promise<number | undefined>;
}
