package dev.loupe.dataset.imports;

/** Builds JSON pointers (RFC 6901); the root is the empty string. */
final class Pointers {
    private Pointers() {
    }

    static String field(String parent, String name) {
        return parent + "/" + name.replace("~", "~0").replace("/", "~1");
    }

    static String index(String parent, int index) {
        return parent + "/" + index;
    }
}
