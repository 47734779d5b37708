package dev.loupe.engine.tiny;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scenes: the same for a seed, drawn as their texts say, and exported as well-formed native records. */
class SyntheticScenesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int WHITE = 0xFFFFFF;
    private static final int SIZE = SyntheticScenes.IMAGE_SIZE;

    @TempDir
    Path dir;

    @Test
    void aSeedAndAnIndexAlwaysGiveTheSameSceneAndPixels() throws Exception {
        SyntheticScenes first = new SyntheticScenes(7);
        SyntheticScenes second = new SyntheticScenes(7);
        for (long index : new long[]{0, 1, 99, 1L << 40}) {
            assertEquals(first.scene(index), second.scene(index));
            assertArrayEquals(SyntheticScenes.png(SyntheticScenes.render(first.scene(index))),
                    SyntheticScenes.png(SyntheticScenes.render(second.scene(index))));
        }
        List<String> captions = new ArrayList<>();
        List<String> otherSeed = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            captions.add(first.scene(i).caption());
            otherSeed.add(new SyntheticScenes(8).scene(i).caption());
        }
        assertNotEquals(captions, otherSeed, "another seed draws other scenes");
    }

    @Test
    void everySceneIsDrawnAsItsCaptionSays() {
        SyntheticScenes scenes = new SyntheticScenes(3);
        Map<Scene.ShapeType, Integer> shapesSeen = new HashMap<>();
        int words = 0;
        for (int i = 0; i < 300; i++) {
            Scene scene = scenes.scene(i);
            BufferedImage image = SyntheticScenes.render(scene);
            for (Scene.Item item : scene.items()) {
                assertEquals(item.colour().rgb(), rgb(image, item.centreX(), item.centreY()),
                        "scene " + i + ": the centre of " + item + " has its colour");
                assertEquals(item.shape(), shapeByFill(image, item), "scene " + i + ": " + item);
                shapesSeen.merge(item.shape(), 1, Integer::sum);
            }
            for (Scene.Place place : Scene.Place.values()) {
                if (scene.at(place).isEmpty()) {
                    assertEquals(WHITE, rgb(image, place.x(), place.y()), "scene " + i + ": " + place + " is empty");
                }
            }
            boolean dark = false;
            for (int y = 0; y < SyntheticScenes.CELL; y++) {
                for (int x = 0; x < SyntheticScenes.CELL; x++) {
                    dark |= rgb(image, x, y) == 0x202020;
                }
            }
            assertEquals(scene.word() != null, dark, "scene " + i + ": dark dots in the top-left cell iff a word");
            words += scene.word() != null ? 1 : 0;
        }
        assertEquals(Set.of(Scene.ShapeType.values()), shapesSeen.keySet());
        assertTrue(words > 50 && words < 130, "about 30% of the scenes have a word: " + words);
    }

    private static int rgb(BufferedImage image, int x, int y) {
        return image.getRGB(x, y) & 0xFFFFFF;
    }

    /**
     * Which shape covers its bounding square as much as the pixels of exactly its colour do: a square fills it, a
     * circle about pi / 4 of it, a triangle half (less the anti-aliased edges, which are blends).
     */
    private static Scene.ShapeType shapeByFill(BufferedImage image, Scene.Item item) {
        double half = item.size() / 2.0;
        int filled = 0;
        for (int y = (int) Math.floor(item.centreY() - half); y < item.centreY() + half; y++) {
            for (int x = (int) Math.floor(item.centreX() - half); x < item.centreX() + half; x++) {
                filled += rgb(image, x, y) == item.colour().rgb() ? 1 : 0;
            }
        }
        double fill = filled / (double) (item.size() * item.size());
        if (fill > 0.75) {
            return Scene.ShapeType.SQUARE;
        }
        return fill > 0.5 ? Scene.ShapeType.CIRCLE : Scene.ShapeType.TRIANGLE;
    }

    @Test
    void theTextsFollowTheContent() {
        Scene scene = new Scene(List.of(
                new Scene.Item(Scene.ShapeType.SQUARE, Scene.Colour.BLUE, Scene.Place.RIGHT, 80, 48, 20),
                new Scene.Item(Scene.ShapeType.CIRCLE, Scene.Colour.RED, Scene.Place.LEFT, 16, 48, 20)), null, 2,
                2);
        assertEquals("a red circle on the left and a blue square on the right", scene.caption());
        List<Scene.QuestionAnswer> answers = scene.questionAnswers();
        for (Scene.QuestionAnswer expected : List.of(
                new Scene.QuestionAnswer("How many shapes are there?", "2"),
                new Scene.QuestionAnswer("What colour is the circle?", "red"),
                new Scene.QuestionAnswer("Where is the blue square?", "on the right"),
                new Scene.QuestionAnswer("What is at the top?", "nothing"),
                new Scene.QuestionAnswer("What word is written?", "none"),
                new Scene.QuestionAnswer("What is on the left? Answer in JSON.",
                        "{\"shape\": \"circle\", \"colour\": \"red\"}"))) {
            assertTrue(answers.contains(expected), expected + " in " + answers);
        }

        Scene twoCircles = new Scene(List.of(
                new Scene.Item(Scene.ShapeType.CIRCLE, Scene.Colour.RED, Scene.Place.TOP, 48, 16, 20),
                new Scene.Item(Scene.ShapeType.CIRCLE, Scene.Colour.RED, Scene.Place.BOTTOM, 48, 80, 20),
                new Scene.Item(Scene.ShapeType.TRIANGLE, Scene.Colour.GREEN, Scene.Place.CENTER, 48, 48, 20)), "SUN",
                2, 2);
        assertEquals("a red circle at the top, a green triangle in the center, a red circle at the bottom and the"
                + " word SUN", twoCircles.caption());
        List<String> questions = twoCircles.questionAnswers().stream().map(Scene.QuestionAnswer::question).toList();
        assertFalse(questions.contains("What colour is the circle?"), "two circles: the question is ambiguous");
        assertFalse(questions.contains("Where is the red circle?"));
        assertTrue(questions.contains("What colour is the triangle?"));
        assertTrue(twoCircles.questionAnswers().contains(new Scene.QuestionAnswer("What word is written?", "SUN")));
    }

    @Test
    void everyWordCanBeDrawn() {
        assertTrue(SyntheticScenes.WORDS.stream().allMatch(PixelFont::canDraw));
    }

    @Test
    void theCaptionCorpusIsWellFormedNativeJsonl() throws Exception {
        SyntheticScenes scenes = new SyntheticScenes(5);
        Path folder = dir.resolve("caption");
        scenes.writeNativeCorpus(folder, 12, SyntheticScenes.CorpusTask.CAPTION);

        Map<String, byte[]> images = unzip(folder.resolve("images.zip"));
        List<String> lines = Files.readAllLines(folder.resolve("records.jsonl"));
        assertEquals(12, lines.size());
        assertEquals(12, images.size());
        for (int i = 0; i < lines.size(); i++) {
            Scene scene = scenes.scene(i);
            JsonNode record = JSON.readTree(lines.get(i));
            assertEquals(Set.of("id", "images", "messages", "annotations"), fieldNames(record));
            String image = record.path("images").path(0).asText();
            assertEquals(1, record.path("images").size());
            assertTrue(images.containsKey(image), image + " is in the archive");
            BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(images.get(image)));
            assertArrayEquals(SyntheticScenes.render(scene).getRGB(0, 0, SIZE, SIZE, null, 0, SIZE),
                    decoded.getRGB(0, 0, SIZE, SIZE, null, 0, SIZE), "the archived PNG is the scene");

            JsonNode messages = record.path("messages");
            assertEquals(2, messages.size());
            assertEquals("user", messages.path(0).path("role").asText());
            assertEquals("<image>\nDescribe the image.", messages.path(0).path("content").asText());
            assertEquals("assistant", messages.path(1).path("role").asText());
            assertEquals(scene.caption(), messages.path(1).path("content").asText());

            JsonNode annotations = record.path("annotations");
            assertEquals(scene.caption(), annotations.path("captions").path(0).path("text").asText());
            JsonNode boxes = annotations.path("boxes");
            assertEquals(scene.items().size(), boxes.size());
            for (int b = 0; b < boxes.size(); b++) {
                JsonNode box = boxes.path(b).path("box");
                for (JsonNode coordinate : box) {
                    assertTrue(coordinate.asDouble() >= 0 && coordinate.asDouble() <= 1, box.toString());
                }
                assertTrue(box.path(0).asDouble() < box.path(2).asDouble()
                        && box.path(1).asDouble() < box.path(3).asDouble(), box.toString());
                Scene.Item item = scene.items().get(b);
                assertEquals(item.colour().word() + " " + item.shape().word(), boxes.path(b).path("label").asText());
                JsonNode qa = annotations.path("grounded_qa").path(b);
                assertEquals(b, qa.path("box").asInt());
                assertEquals(item.description(), qa.path("answer").asText());
            }
        }

        Path again = dir.resolve("again");
        scenes.writeNativeCorpus(again, 12, SyntheticScenes.CorpusTask.CAPTION);
        assertArrayEquals(Files.readAllBytes(folder.resolve("records.jsonl")),
                Files.readAllBytes(again.resolve("records.jsonl")));
        assertArrayEquals(Files.readAllBytes(folder.resolve("images.zip")),
                Files.readAllBytes(again.resolve("images.zip")), "the archive does not change from run to run");
    }

    @Test
    void theJsonCorpusCarriesExpectedOutputsOfItsSchema() throws Exception {
        SyntheticScenes scenes = new SyntheticScenes(5);
        Path folder = dir.resolve("json");
        scenes.writeNativeCorpus(folder, 12, SyntheticScenes.CorpusTask.JSON);
        JsonNode schema = JSON.readTree(folder.resolve("schema.json").toFile());
        Set<String> shapes = new HashSet<>();
        schema.path("properties").path("shape").path("enum").forEach(value -> shapes.add(value.asText()));
        Set<String> colours = new HashSet<>();
        schema.path("properties").path("colour").path("enum").forEach(value -> colours.add(value.asText()));

        List<String> lines = Files.readAllLines(folder.resolve("records.jsonl"));
        assertEquals(12, lines.size());
        for (int i = 0; i < lines.size(); i++) {
            JsonNode record = JSON.readTree(lines.get(i));
            assertEquals(Set.of("id", "images", "messages", "expected_output"), fieldNames(record));
            assertTrue(record.path("messages").path(0).path("content").asText().endsWith("? Answer in JSON."));
            JsonNode expected = record.path("expected_output");
            assertEquals(expected, JSON.readTree(record.path("messages").path(1).path("content").asText()),
                    "the assistant's answer is the expected output");
            assertEquals(Set.of("shape", "colour"), fieldNames(expected));
            assertTrue(shapes.contains(expected.path("shape").asText()));
            assertTrue(colours.contains(expected.path("colour").asText()));
            Scene.Item first = scenes.scene(i).items().get(0);
            assertEquals(first.json(), record.path("messages").path(1).path("content").asText());
        }
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new HashSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static Map<String, byte[]> unzip(Path zip) throws Exception {
        Map<String, byte[]> files = new HashMap<>();
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
            for (ZipEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
                files.put(entry.getName(), in.readAllBytes());
            }
        }
        return files;
    }
}
