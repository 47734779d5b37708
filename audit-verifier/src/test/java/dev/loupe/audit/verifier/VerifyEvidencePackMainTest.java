package dev.loupe.audit.verifier;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.loupe.audit.AuditEntry;
import dev.loupe.audit.TestChains;
import dev.loupe.audit.TestChains.Signer;

import static dev.loupe.audit.TestChains.CHAIN;
import static dev.loupe.audit.TestChains.KEY_ID;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link VerifyEvidencePack#main} in a JVM of its own, since its exit code is what a script sees. */
class VerifyEvidencePackMainTest {
    @TempDir
    Path dir;

    @Test
    void aValidPackExitsWithZero() throws Exception {
        Signer operator = Signer.generate(KEY_ID);
        List<AuditEntry> chain = TestChains.chain(CHAIN, 5);
        Path pack = TestChains.writePack(dir.resolve("pack.zip"), chain, TestChains.checkpoints(chain, operator, 5),
                List.of(operator.packKey()));

        Run run = main(pack.toString());

        assertEquals(0, run.code, run.err);
        assertTrue(run.out.contains("VALID"), run.out);
    }

    @Test
    void anUnreadablePackExitsWithTwoAndNoStackTrace() throws Exception {
        Path garbage = Files.writeString(dir.resolve("garbage.zip"), "not a zip at all");

        Run run = main(garbage.toString());

        assertEquals(2, run.code);
        assertTrue(run.err.contains("not a zip file"), run.err);
        assertFalse(run.err.contains("Exception"), run.err);
    }

    private Run main(String... args) throws IOException, InterruptedException {
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), VerifyEvidencePack.class.getName()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                .start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the verifier did not finish within 60 s");
        return new Run(process.exitValue(), Files.readString(out, UTF_8), Files.readString(err, UTF_8));
    }

    private record Run(int code, String out, String err) {
    }
}
