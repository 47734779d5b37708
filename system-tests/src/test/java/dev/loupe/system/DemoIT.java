package dev.loupe.system;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's first command, deploy/local/demo.sh, in a short form (fewer scenes and epochs) against the running
 * stack: it must tell the whole story and end with an intact audit trail.
 */
class DemoIT {

    @Test
    void theDemoRunsItsWholeStory() throws IOException, InterruptedException {
        Path script = Path.of(System.getProperty("loupe.stack.script")).resolveSibling("demo.sh");
        Process demo = new ProcessBuilder(script.toString(), "--scenes", "120", "--epochs", "2", "--held-out", "2")
                .redirectErrorStream(true)
                .start();
        demo.getOutputStream().close();
        String output = new String(demo.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(demo.waitFor(5, TimeUnit.MINUTES), output);
        System.out.println(output);
        assertEquals(0, demo.exitValue(), output);
        assertTrue(output.contains("using the Loupe stack already running"), output);
        for (String step : new String[]{"[1/8]", "[2/8]", "[3/8]", "[4/8]", "[5/8]", "[6/8]", "[7/8]", "[8/8]"}) {
            assertTrue(output.contains(step), step + " missing:\n" + output);
        }
        assertTrue(output.contains("missing_image_file"), output);
        assertTrue(output.contains("status approved, reviewed by acme-compliance"), output);
        assertTrue(output.contains("chain intact"), output);
        assertTrue(output.contains("chat completion latency p50"), output);
    }
}
