package dev.loupe.audit.evidence;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.AuditJson;
import dev.loupe.audit.Checkpoint;
import dev.loupe.audit.TestChains;
import dev.loupe.audit.TestChains.Signer;

import static dev.loupe.audit.TestChains.CHAIN;
import static dev.loupe.audit.TestChains.KEY_ID;
import static dev.loupe.audit.TestChains.T0;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvidencePackTest {
    @TempDir
    Path dir;
    private final Signer signer = Signer.generate(KEY_ID);
    private final List<AuditEntry> chain = TestChains.chain(CHAIN, 25);
    private List<Checkpoint> checkpoints;
    private Path pack;

    @BeforeEach
    void writePack() throws IOException {
        checkpoints = TestChains.checkpoints(chain, signer, 10, 20, 25);
        pack = TestChains.writePack(dir.resolve("pack.zip"), chain, checkpoints, List.of(signer.packKey()));
    }

    @Test
    void zipEntriesComeInTheDocumentedOrder() throws IOException {
        assertEquals(EvidencePack.ZIP_ENTRIES, List.copyOf(TestChains.unzip(pack).keySet()));
    }

    @Test
    void whatIsWrittenReadsBackFromAFileAndAStream() throws Exception {
        EvidencePack fromFile = EvidencePackReader.read(pack);
        EvidencePack fromStream;
        try (InputStream in = Files.newInputStream(pack)) {
            fromStream = EvidencePackReader.read(in);
        }

        for (EvidencePack read : List.of(fromFile, fromStream)) {
            assertEquals(chain, read.entries());
            assertEquals(checkpoints.stream().map(AuditJson::checkpointLine).toList(),
                    read.checkpoints().stream().map(AuditJson::checkpointLine).toList());
            assertEquals(List.of(new PackKey(KEY_ID, signer.rawPublicKey())), read.keys());
            assertEquals(new EvidenceManifest(EvidenceManifest.FORMAT, CHAIN, T0, T0.plusSeconds(3600), 1, 25, 25,
                    T0.plusSeconds(7200), "olivia"), read.manifest());
            assertEquals(TestChains.README, read.readme());
        }
    }

    @Test
    void entriesStreamOneByOneInFileOrder() throws Exception {
        List<AuditEntry> read = new ArrayList<>();
        try (EvidencePackReader reader = EvidencePackReader.open(pack)) {
            assertEquals(3, reader.checkpoints().size());
            for (AuditEntry entry = reader.nextEntry(); entry != null; entry = reader.nextEntry()) {
                read.add(entry);
            }
            assertNull(reader.nextEntry());
        }
        assertEquals(chain, read);
    }

    @Test
    void theWriterComputesTheRunAndKeepsOpenTimeRangesAsNull() throws Exception {
        Path file = dir.resolve("open.zip");
        EvidenceManifest written;
        try (EvidencePackWriter writer = new EvidencePackWriter(Files.newOutputStream(file))) {
            for (AuditEntry entry : TestChains.run(chain, 11, 20)) {
                writer.entry(entry);
            }
            written = writer.finish(EvidenceManifest.of(CHAIN, null, null, T0, "olivia"),
                    TestChains.checkpoints(chain, signer, 20), List.of(signer.packKey()), "");
        }

        assertEquals(new EvidenceManifest(EvidenceManifest.FORMAT, CHAIN, null, null, 11, 20, 10, T0, "olivia"),
                written);
        assertEquals(written, EvidencePackReader.read(file).manifest());
        assertTrue(TestChains.unzip(file).get(EvidencePack.MANIFEST).contains("\"from\" : null"));
    }

    @Test
    void theWriterRefusesWhatWouldMakeAMalformedPack() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (EvidencePackWriter writer = new EvidencePackWriter(out)) {
            assertThrows(IllegalStateException.class,
                    () -> writer.finish(EvidenceManifest.of(CHAIN, null, null, T0, "o"), List.of(), List.of(), ""));
            writer.entry(chain.get(0));
            IllegalArgumentException gap = assertThrows(IllegalArgumentException.class,
                    () -> writer.entry(chain.get(2)));
            assertEquals("Entry 3 does not follow entry 1", gap.getMessage());
            AuditEntry otherChain = TestChains.chain("globex", 2).get(1);
            assertThrows(IllegalArgumentException.class, () -> writer.entry(otherChain));
            writer.entry(chain.get(1));
            assertThrows(IllegalArgumentException.class,
                    () -> writer.finish(EvidenceManifest.of("globex", null, null, T0, "o"), List.of(), List.of(), ""));
            assertThrows(IllegalArgumentException.class,
                    () -> writer.finish(EvidenceManifest.of(CHAIN, null, null, T0, "o").withRun(1, 3, 3), List.of(),
                            List.of(), ""));
            List<Checkpoint> beyond = TestChains.checkpoints(chain, signer, 3);
            assertThrows(IllegalArgumentException.class,
                    () -> writer.finish(EvidenceManifest.of(CHAIN, null, null, T0, "o"), beyond, List.of(), ""));
            List<PackKey> twice = List.of(signer.packKey(), signer.packKey());
            assertThrows(IllegalArgumentException.class,
                    () -> writer.finish(EvidenceManifest.of(CHAIN, null, null, T0, "o"), List.of(), twice, ""));
        }
    }

    @Test
    void aLineThatDoesNotParseIsNamedByZipEntryAndLine() throws IOException {
        TestChains.edit(pack, EvidencePack.ENTRIES, text -> TestChains.editLine(text, 3, line -> "{\"seq\": 3,"));

        assertReadFails("entries.jsonl line 3: not JSON");
    }

    @Test
    void aCheckpointLineWithoutAFieldIsNamedByZipEntryAndLine() throws IOException {
        TestChains.edit(pack, EvidencePack.CHECKPOINTS,
                text -> TestChains.editLine(text, 2, line -> line.replace("\"head_hash\"", "\"head\"")));

        assertReadFails("checkpoints.jsonl line 2: head_hash: missing or not a string");
    }

    @Test
    void anEmptyLineInTheMiddleIsAnError() throws IOException {
        TestChains.edit(pack, EvidencePack.ENTRIES, text -> TestChains.editLine(text, 5, line -> ""));

        assertReadFails("entries.jsonl line 5: empty line");
    }

    @Test
    void bytesThatAreNotUtf8AreAnErrorAtTheirLine() throws IOException {
        Map<String, byte[]> content = raw();
        String entries = new String(content.get(EvidencePack.ENTRIES), UTF_8);
        int secondLine = entries.indexOf('\n') + 1;
        byte[] bytes = entries.getBytes(UTF_8);
        bytes[secondLine + 1] = (byte) 0xff;
        content.put(EvidencePack.ENTRIES, bytes);
        zipRaw(pack, content);

        assertReadFails("entries.jsonl line 2: not UTF-8");
    }

    @Test
    void anotherFormatIsRefused() throws IOException {
        TestChains.edit(pack, EvidencePack.MANIFEST,
                text -> text.replace(EvidenceManifest.FORMAT, "loupe.audit.evidence.v2"));

        assertReadFails("manifest.json: format \"loupe.audit.evidence.v2\" is not loupe.audit.evidence.v1");
    }

    @Test
    void aKeyThatIsNotARawEd25519KeyIsRefused() throws IOException {
        TestChains.edit(pack, EvidencePack.KEYS, text -> text.replaceFirst("\"public_key\" : \"[^\"]*\"",
                "\"public_key\" : \"AAAA\""));

        assertReadFails("verification-keys.json: keys[0].public_key: 3 bytes, not a raw 32-byte Ed25519 public key");
    }

    @Test
    void aMissingZipEntryIsNamed() throws IOException {
        Map<String, String> content = TestChains.unzip(pack);
        content.remove(EvidencePack.README);
        TestChains.zip(pack, content);

        assertReadFails("README.md: missing from the pack");
    }

    @Test
    void anUnexpectedZipEntryIsNamed() throws IOException {
        Map<String, String> content = TestChains.unzip(pack);
        content.put("entries-extra.jsonl", "");
        TestChains.zip(pack, content);

        assertReadFails("entries-extra.jsonl: not part of an evidence pack");
    }

    @Test
    void aZipEntryPresentTwiceIsRefused() throws IOException {
        Map<String, byte[]> content = new LinkedHashMap<>(raw());
        // ZipOutputStream refuses a repeated name, so write another of the same length and patch it in.
        content.put("entries.jsonX", content.get(EvidencePack.ENTRIES));
        zipRaw(pack, content);
        byte[] bytes = Files.readAllBytes(pack);
        Files.write(pack, new String(bytes, ISO_8859_1).replace("entries.jsonX", "entries.jsonl").getBytes(ISO_8859_1));

        assertReadFails("entries.jsonl: present twice");
    }

    @Test
    void aFileThatIsNotAZipIsNamed() throws IOException {
        Files.writeString(pack, "this is not a zip");

        EvidencePackException fromFile = assertThrows(EvidencePackException.class,
                () -> EvidencePackReader.read(pack));
        assertTrue(fromFile.getMessage().startsWith("not a zip file"), fromFile.getMessage());
        try (InputStream in = Files.newInputStream(pack)) {
            EvidencePackException fromStream = assertThrows(EvidencePackException.class,
                    () -> EvidencePackReader.read(in));
            assertEquals("not a zip file, or an empty one", fromStream.getMessage());
        }
    }

    /** Reading the file and reading a stream of it fail alike. */
    private void assertReadFails(String messageStart) throws IOException {
        EvidencePackException fromFile = assertThrows(EvidencePackException.class,
                () -> EvidencePackReader.read(pack));
        assertTrue(fromFile.getMessage().startsWith(messageStart), fromFile.getMessage());
        try (InputStream in = Files.newInputStream(pack)) {
            EvidencePackException fromStream = assertThrows(EvidencePackException.class,
                    () -> EvidencePackReader.read(in));
            assertTrue(fromStream.getMessage().startsWith(messageStart), fromStream.getMessage());
        }
    }

    private Map<String, byte[]> raw() throws IOException {
        Map<String, byte[]> content = new LinkedHashMap<>();
        TestChains.unzip(pack).forEach((name, text) -> content.put(name, text.getBytes(UTF_8)));
        return content;
    }

    private static void zipRaw(Path file, Map<String, byte[]> content) throws IOException {
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(file), UTF_8)) {
            for (Map.Entry<String, byte[]> entry : content.entrySet()) {
                zip.putNextEntry(new ZipEntry(entry.getKey()));
                zip.write(entry.getValue());
                zip.closeEntry();
            }
        }
    }
}
