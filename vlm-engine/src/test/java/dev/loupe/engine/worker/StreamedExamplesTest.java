package dev.loupe.engine.worker;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The example feed on standard input, and a worker trained from it. */
class StreamedExamplesTest {
    @TempDir
    static Path dir;
    static WorkerFixture fixture;

    @BeforeAll
    static void writeFixture() throws Exception {
        fixture = WorkerFixture.create(dir.resolve("fixture"));
    }

    @Test
    void readsBothSplitsWithTheirImagesAndDigestsTheFeed() throws IOException {
        String feed = feedOf(fixture) + "\n";

        StreamedExamples.Feed read = StreamedExamples.read(stream(feed));

        assertEquals(6, read.train().size());
        assertEquals(List.of("val-red", "val-blue"), read.validation().stream().map(TrainingExample::id).toList());
        assertArrayEquals(Files.readAllBytes(fixture.data.resolve("pictures/red.png")),
                read.validation().get(0).images().get(0).read());
        assertEquals(64, read.sha256().length());
        String other = feed.replace("It is red.", "It is crimson.");
        assertNotEquals(read.sha256(), StreamedExamples.read(stream(other)).sha256());
    }

    @Test
    void refusesAFeedThatBreaksOffMiscountsOrHoldsABadLine() throws IOException {
        String feed = feedOf(fixture);
        List<String> lines = feed.lines().toList();
        String withoutEnd = String.join("\n", lines.subList(0, lines.size() - 1));
        assertTrue(assertThrows(ExampleFormatException.class, () -> StreamedExamples.read(stream(withoutEnd)))
                .getMessage()
                .contains("broke off"));
        String lost = String.join("\n", lines.subList(1, lines.size()));
        assertTrue(assertThrows(ExampleFormatException.class, () -> StreamedExamples.read(stream(lost)))
                .getMessage()
                .contains("announced 6 training and 2 validation examples but held 5 and 2"));
        String badSplit = feed.replaceFirst("\"split\":\"train\"", "\"split\":\"test\"");
        assertEquals("example feed line 1: split must be train or validation",
                assertThrows(ExampleFormatException.class, () -> StreamedExamples.read(stream(badSplit)))
                        .getMessage());
        String badImage = feed.replaceFirst("\"images\":\\[\"", "\"images\":[\"%%");
        assertTrue(assertThrows(ExampleFormatException.class, () -> StreamedExamples.read(stream(badImage)))
                .getMessage()
                .startsWith("example feed line 1: example train-"));
    }

    @Test
    void aWorkerFedOnStdinTrainsTheSameAdapterAsOneReadingTheFiles() throws Exception {
        Path fromFiles = dir.resolve("from-files");
        WorkerFixture.CapturedReports fileReports = new WorkerFixture.CapturedReports();
        TrainerWorker.Result files = new TrainerWorker(WorkerFixture.read(fixture.spec(fromFiles)), fileReports)
                .run();
        assertEquals(TrainerWorker.Outcome.SUCCEEDED, files.outcome());

        Path fromFeed = dir.resolve("from-feed");
        ObjectNode spec = fixture.spec(fromFeed);
        spec.remove("train_examples");
        spec.remove("validation_examples");
        spec.put("examples_on_stdin", true);
        WorkerFixture.CapturedReports feedReports = new WorkerFixture.CapturedReports();
        TrainerWorker.Result fed = new TrainerWorker(WorkerFixture.read(spec),
                StreamedExamples.read(stream(feedOf(fixture))), feedReports).run();

        assertEquals(TrainerWorker.Outcome.SUCCEEDED, fed.outcome(), feedReports.lines().toString());
        Map<Path, byte[]> expected = WorkerFixture.files(files.artifact());
        Map<Path, byte[]> actual = WorkerFixture.files(fed.artifact());
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((name, bytes) -> assertArrayEquals(bytes, actual.get(name), name.toString()));
        assertEquals(evaluation(fileReports), evaluation(feedReports));
    }

    @Test
    void theSpecRefusesExampleFilesBesideTheFeed() {
        ObjectNode spec = fixture.spec(dir.resolve("both"));
        spec.put("examples_on_stdin", true);
        JobSpecException refused = assertThrows(JobSpecException.class, () -> WorkerFixture.read(spec));
        assertEquals("train_examples", refused.field());
    }

    private static List<JsonNode> evaluation(WorkerFixture.CapturedReports reports) throws IOException {
        return reports.lines().stream().filter(line -> line.path("type").asText().equals("evaluation")).toList();
    }

    /** The fixture's JSONL files as the training-service would feed them: images inline, then the end line. */
    static String feedOf(WorkerFixture fixture) throws IOException {
        List<String> lines = new ArrayList<>();
        int[] counts = new int[2];
        for (String split : List.of("train", "validation")) {
            for (String line : Files.readAllLines(fixture.data.resolve(split + ".jsonl"))) {
                ObjectNode example = (ObjectNode) WorkerFixture.JSON.readTree(line);
                ArrayNode inline = WorkerFixture.JSON.createArrayNode();
                for (JsonNode image : example.withArray("images")) {
                    inline.add(Base64.getEncoder().encodeToString(
                            Files.readAllBytes(fixture.data.resolve(image.asText()))));
                }
                ObjectNode fed = WorkerFixture.JSON.createObjectNode().put("split", split);
                fed.setAll(example);
                fed.set("images", inline);
                lines.add(fed.toString());
                counts[split.equals("train") ? 0 : 1]++;
            }
        }
        lines.add("{\"end\":true,\"train\":" + counts[0] + ",\"validation\":" + counts[1] + "}");
        return String.join("\n", lines);
    }

    private static ByteArrayInputStream stream(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
    }
}
