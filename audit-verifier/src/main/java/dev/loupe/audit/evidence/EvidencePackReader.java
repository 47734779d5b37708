package dev.loupe.audit.evidence;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.AuditJson;
import dev.loupe.audit.Checkpoint;

import static java.nio.charset.StandardCharsets.UTF_8;

/**
 * Reads an evidence pack. {@link #open} reads a pack file's manifest, checkpoints, keys and README at once and
 * then its entries one by one with {@link #nextEntry}, so that a verifier needs memory for the checkpoints
 * only; {@link #read} reads a whole pack into memory. Either way a pack must hold each of
 * {@link EvidencePack#ZIP_ENTRIES} exactly once and nothing else, in UTF-8, and every problem is reported as an
 * {@link EvidencePackException} naming the zip entry and, in a JSON-lines entry, the line.
 *
 * <p>
 * Reading checks the format only. Whether the entries form an intact chain that the checkpoints vouch for is
 * for {@code dev.loupe.audit.verifier.VerifyEvidencePack} to judge.
 */
public final class EvidencePackReader implements Closeable {
    /** No line or JSON file of a pack comes near this; the cap keeps a hostile file from exhausting memory. */
    static final int MAX_TEXT_BYTES = 16 * 1024 * 1024;

    private final ZipFile zip;
    private final EvidenceManifest manifest;
    private final List<Checkpoint> checkpoints;
    private final List<PackKey> keys;
    private final String readme;
    private JsonLines entries;

    private EvidencePackReader(ZipFile zip) throws EvidencePackException {
        this.zip = zip;
        Set<String> names = new HashSet<>();
        for (Enumeration<? extends ZipEntry> all = zip.entries(); all.hasMoreElements();) {
            checkName(names, all.nextElement().getName());
        }
        checkComplete(names);
        this.manifest = whole(EvidencePack.MANIFEST, PackJson::manifest);
        this.keys = whole(EvidencePack.KEYS, PackJson::keys);
        this.checkpoints = new ArrayList<>();
        try (InputStream in = content(EvidencePack.CHECKPOINTS)) {
            lines(new JsonLines(EvidencePack.CHECKPOINTS, in), AuditJson::checkpoint, checkpoints);
        } catch (IOException e) {
            throw cannotRead(EvidencePack.CHECKPOINTS, e);
        }
        this.readme = whole(EvidencePack.README, Function.identity());
    }

    /**
     * Opens a pack file and reads all but its entries.
     *
     * @throws EvidencePackException when the file is missing, not a zip, or not a well-formed pack; the message
     *         names the problem but not the file, which the caller knows
     */
    public static EvidencePackReader open(Path pack) throws EvidencePackException {
        if (!Files.isRegularFile(pack)) {
            throw new EvidencePackException("no such file");
        }
        ZipFile zip;
        try {
            zip = new ZipFile(pack.toFile(), UTF_8);
        } catch (ZipException e) {
            throw new EvidencePackException("not a zip file (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new EvidencePackException("cannot read (" + e.getMessage() + ")", e);
        }
        try {
            return new EvidencePackReader(zip);
        } catch (EvidencePackException | RuntimeException e) {
            closeQuietly(zip);
            throw e;
        }
    }

    /** Reads a whole pack file into memory. */
    public static EvidencePack read(Path pack) throws EvidencePackException {
        try (EvidencePackReader reader = open(pack)) {
            List<AuditEntry> entries = new ArrayList<>();
            for (AuditEntry entry = reader.nextEntry(); entry != null; entry = reader.nextEntry()) {
                entries.add(entry);
            }
            return new EvidencePack(reader.manifest(), entries, reader.checkpoints(), reader.keys(),
                    reader.readme());
        }
    }

    /**
     * Reads a whole pack from a stream, e.g. an upload, into memory. Does not close {@code in}.
     *
     * @throws EvidencePackException when the stream is not a zip or not a well-formed pack
     */
    public static EvidencePack read(InputStream in) throws EvidencePackException {
        ZipInputStream zip = new ZipInputStream(in, UTF_8);
        Set<String> names = new HashSet<>();
        EvidenceManifest manifest = null;
        List<PackKey> keys = null;
        String readme = null;
        List<AuditEntry> entries = new ArrayList<>();
        List<Checkpoint> checkpoints = new ArrayList<>();
        try {
            for (ZipEntry entry = zip.getNextEntry(); entry != null; entry = zip.getNextEntry()) {
                String name = entry.getName();
                checkName(names, name);
                switch (name) {
                    case EvidencePack.ENTRIES -> lines(new JsonLines(name, zip), AuditJson::entry, entries);
                    case EvidencePack.CHECKPOINTS -> lines(new JsonLines(name, zip), AuditJson::checkpoint,
                            checkpoints);
                    case EvidencePack.KEYS -> keys = parse(name, PackJson::keys, text(name, zip));
                    case EvidencePack.MANIFEST -> manifest = parse(name, PackJson::manifest, text(name, zip));
                    default -> readme = text(name, zip);
                }
            }
        } catch (IOException e) {
            throw new EvidencePackException("not a readable zip (" + e.getMessage() + ")", e);
        }
        if (names.isEmpty()) {
            throw new EvidencePackException("not a zip file, or an empty one");
        }
        checkComplete(names);
        return new EvidencePack(manifest, entries, checkpoints, keys, readme);
    }

    /** The manifest, as the pack states it. */
    public EvidenceManifest manifest() {
        return manifest;
    }

    /** The checkpoints, in file order. */
    public List<Checkpoint> checkpoints() {
        return List.copyOf(checkpoints);
    }

    /** The keys the pack offers: not to be trusted more than the pack itself. */
    public List<PackKey> keys() {
        return List.copyOf(keys);
    }

    /** The text the exporter put beside the evidence. */
    public String readme() {
        return readme;
    }

    /**
     * The next entry of {@code entries.jsonl}, in file order; null after the last.
     *
     * @throws EvidencePackException naming the line that does not parse
     */
    public AuditEntry nextEntry() throws EvidencePackException {
        if (entries == null) {
            entries = new JsonLines(EvidencePack.ENTRIES, content(EvidencePack.ENTRIES));
        }
        return entries.next(AuditJson::entry);
    }

    @Override
    public void close() {
        closeQuietly(zip);
    }

    private InputStream content(String name) throws EvidencePackException {
        try {
            return zip.getInputStream(zip.getEntry(name));
        } catch (IOException e) {
            throw cannotRead(name, e);
        }
    }

    /** A whole zip entry, parsed. */
    private <T> T whole(String name, Function<String, T> parser) throws EvidencePackException {
        try (InputStream in = content(name)) {
            return parse(name, parser, text(name, in));
        } catch (IOException e) {
            throw cannotRead(name, e);
        }
    }

    private static EvidencePackException cannotRead(String name, IOException e) {
        return new EvidencePackException(name + ": cannot read (" + e.getMessage() + ")", e);
    }

    private static void checkName(Set<String> names, String name) throws EvidencePackException {
        if (!EvidencePack.ZIP_ENTRIES.contains(name)) {
            throw new EvidencePackException(name + ": not part of an evidence pack (expected only "
                    + String.join(", ", EvidencePack.ZIP_ENTRIES) + ")");
        }
        // Two entries of one name could show one thing to one zip tool and another to the next.
        if (!names.add(name)) {
            throw new EvidencePackException(name + ": present twice");
        }
    }

    private static void checkComplete(Set<String> names) throws EvidencePackException {
        for (String name : EvidencePack.ZIP_ENTRIES) {
            if (!names.contains(name)) {
                throw new EvidencePackException(name + ": missing from the pack");
            }
        }
    }

    private static <T> T parse(String name, Function<String, T> parser, String text) throws EvidencePackException {
        try {
            return parser.apply(text);
        } catch (IllegalArgumentException e) {
            throw new EvidencePackException(name + ": " + e.getMessage(), e);
        }
    }

    private static <T> void lines(JsonLines lines, Function<String, T> parser, List<T> into)
            throws EvidencePackException {
        for (T item = lines.next(parser); item != null; item = lines.next(parser)) {
            into.add(item);
        }
    }

    /** A whole zip entry as text. */
    private static String text(String name, InputStream in) throws EvidencePackException {
        try {
            byte[] bytes = in.readNBytes(MAX_TEXT_BYTES + 1);
            if (bytes.length > MAX_TEXT_BYTES) {
                throw new EvidencePackException(name + ": larger than " + MAX_TEXT_BYTES + " bytes");
            }
            return utf8(name, bytes);
        } catch (IOException e) {
            throw cannotRead(name, e);
        }
    }

    /** Decodes strictly: a malformed byte is an error, never silently replaced. */
    private static String utf8(String at, byte[] bytes) throws EvidencePackException {
        try {
            return UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new EvidencePackException(at + ": not UTF-8", e);
        }
    }

    private static void closeQuietly(ZipFile zip) {
        try {
            zip.close();
        } catch (IOException e) {
            // Only read from; nothing is lost when closing fails.
        }
    }

    /**
     * The lines of a JSON-lines zip entry, counted from 1 for error messages. Splits on bytes, not characters, so
     * that an encoding error is reported at its own line.
     */
    private static final class JsonLines {
        private final String name;
        private final InputStream in;
        private final byte[] buffer = new byte[64 * 1024];
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        private int position;
        private int limit;
        private boolean ended;
        private long number;

        JsonLines(String name, InputStream in) {
            this.name = name;
            this.in = in;
        }

        /** The next line parsed; null at the end. */
        <T> T next(Function<String, T> parser) throws EvidencePackException {
            String text = nextLine();
            if (text == null) {
                return null;
            }
            String at = name + " line " + number;
            if (text.isEmpty()) {
                throw new EvidencePackException(at + ": empty line");
            }
            try {
                return parser.apply(text);
            } catch (IllegalArgumentException e) {
                throw new EvidencePackException(at + ": " + e.getMessage(), e);
            }
        }

        private String nextLine() throws EvidencePackException {
            line.reset();
            while (true) {
                if (position == limit) {
                    if (ended || !fill()) {
                        // A last line without its newline still counts.
                        return line.size() == 0 ? null : decoded();
                    }
                }
                int start = position;
                while (position < limit && buffer[position] != '\n') {
                    position++;
                }
                line.write(buffer, start, position - start);
                if (line.size() > MAX_TEXT_BYTES) {
                    throw new EvidencePackException(name + " line " + (number + 1) + ": longer than "
                            + MAX_TEXT_BYTES + " bytes");
                }
                if (position < limit) {
                    position++;
                    return decoded();
                }
            }
        }

        private boolean fill() throws EvidencePackException {
            try {
                int read = in.read(buffer);
                if (read < 0) {
                    ended = true;
                    return false;
                }
                position = 0;
                limit = read;
                return true;
            } catch (IOException e) {
                throw cannotRead(name, e);
            }
        }

        private String decoded() throws EvidencePackException {
            number++;
            return utf8(name + " line " + number, line.toByteArray());
        }
    }
}
