package dev.loupe.governance;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

import jakarta.inject.Inject;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.audit.evidence.PackKey;
import dev.loupe.audit.verifier.PackVerification;
import dev.loupe.audit.verifier.VerifyEvidencePack;
import dev.loupe.contracts.governance.v1.AppendEventsRequest;
import dev.loupe.contracts.governance.v1.AuditServiceGrpc;
import dev.loupe.contracts.governance.v1.AuditServiceGrpc.AuditServiceBlockingStub;
import dev.loupe.contracts.governance.v1.EvidenceChunk;
import dev.loupe.contracts.governance.v1.ExportEvidenceRequest;
import dev.loupe.governance.service.CheckpointService;
import dev.loupe.support.grpc.BearerCallCredentials;
import dev.loupe.support.grpc.ProtoTime;
import dev.loupe.support.testing.KeycloakTokens;

import static dev.loupe.support.testing.GrpcAuthenticationContract.assertFailsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A compliance officer's export is an evidence pack that the standalone verifier accepts offline, and that it
 * rejects once a single byte of it is changed.
 */
@QuarkusTest
class EvidenceExportTest {
    @Inject
    CheckpointService checkpoints;
    @TempDir
    Path dir;

    private ManagedChannel channel;

    @BeforeEach
    void openChannel() {
        channel = ManagedChannelBuilder.forAddress("localhost", 18084).usePlaintext().build();
    }

    @AfterEach
    void closeChannel() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private AuditServiceBlockingStub as(String token) {
        return AuditServiceGrpc.newBlockingStub(channel)
                .withCallCredentials(new BearerCallCredentials(token, null))
                .withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    private Path export(String user, ExportEvidenceRequest request) {
        Path pack = dir.resolve("pack-" + System.nanoTime() + ".zip");
        try (OutputStream out = Files.newOutputStream(pack)) {
            Iterator<EvidenceChunk> chunks = as(KeycloakTokens.accessToken(user)).exportEvidence(request);
            while (chunks.hasNext()) {
                chunks.next().getData().writeTo(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return pack;
    }

    private List<PackKey> publishedKeys() {
        return checkpoints.publicKeys()
                .entrySet()
                .stream()
                .map(key -> new PackKey(key.getKey(), key.getValue()))
                .toList();
    }

    @Test
    void freshExportVerifiesOfflineAndOneChangedByteIsCaught() throws Exception {
        Instant from = Instant.now();
        as(KeycloakTokens.serviceToken("loupe-dataset-service")).appendEvents(AppendEventsRequest.newBuilder()
                .addAllEvents(AuditEventsFixture.events("globex", 30))
                .build());
        Path pack = export("globex-compliance",
                ExportEvidenceRequest.newBuilder().setFrom(ProtoTime.of(from)).build());

        PackVerification fresh = VerifyEvidencePack.verify(pack, publishedKeys());
        assertTrue(fresh.valid(), fresh.report());
        assertEquals("globex", fresh.manifest().chain());
        // The 30 events and the record of the export itself.
        assertTrue(fresh.manifest().entries() >= 31, fresh.report());
        assertTrue(read(pack, "entries.jsonl").contains("\"audit.evidence.exported\""));
        assertTrue(read(pack, "README.md").contains("loupe.audit.entry.v1"));

        Path edited = dir.resolve("edited.zip");
        rewriteEntries(pack, edited, lines -> lines.replaceFirst("\"actor_user_id\":\"user-1\"",
                "\"actor_user_id\":\"user-7\""));
        PackVerification tampered = VerifyEvidencePack.verify(edited, publishedKeys());
        assertFalse(tampered.valid(), tampered.report());
        assertEquals("modified_entry", tampered.chain().reason());
        assertEquals(VerifyEvidencePack.run(new String[]{edited.toString()}, System.out, System.err), 1);
        assertEquals(VerifyEvidencePack.run(new String[]{pack.toString()}, System.out, System.err), 0);
    }

    @Test
    void aRangeWithoutEntriesIsNotFoundAndOnlyOfficersExport() {
        ExportEvidenceRequest empty = ExportEvidenceRequest.newBuilder()
                .setFrom(ProtoTime.of(Instant.parse("2001-01-01T00:00:00Z")))
                .setTo(ProtoTime.of(Instant.parse("2001-01-02T00:00:00Z")))
                .build();
        assertFailsWith(Status.Code.NOT_FOUND, () -> export("acme-compliance", empty));
        for (String user : List.of("acme-admin", "acme-steward", "acme-engineer", "platform-ops")) {
            assertFailsWith(Status.Code.PERMISSION_DENIED,
                    () -> export(user, ExportEvidenceRequest.getDefaultInstance()));
        }
    }

    private static String read(Path zip, String name) throws IOException {
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
                if (entry.getName().equals(name)) {
                    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
            }
        }
        throw new AssertionError(name + " is not in the pack");
    }

    /** Copies a pack with entries.jsonl changed; the change must alter exactly one byte. */
    private static void rewriteEntries(Path from, Path to, java.util.function.UnaryOperator<String> change)
            throws IOException {
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(from));
                ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(to))) {
            for (ZipEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
                byte[] content = in.readAllBytes();
                if (entry.getName().equals("entries.jsonl")) {
                    byte[] changed = change.apply(new String(content, StandardCharsets.UTF_8))
                            .getBytes(StandardCharsets.UTF_8);
                    assertEquals(content.length, changed.length);
                    int differing = 0;
                    for (int i = 0; i < content.length; i++) {
                        differing += content[i] != changed[i] ? 1 : 0;
                    }
                    assertEquals(1, differing, "exactly one byte edited");
                    content = changed;
                }
                out.putNextEntry(new ZipEntry(entry.getName()));
                out.write(content);
                out.closeEntry();
            }
        }
    }
}
