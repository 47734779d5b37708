package dev.loupe.engine.tiny;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.BufferedWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import javax.imageio.ImageIO;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A seeded source of synthetic pictures and their texts, drawn with Java2D: {@link #IMAGE_SIZE}-pixel RGB images
 * on white, with one to three shapes (circle, square, triangle) in a palette of six colours, each in one of five
 * places, and in some a three-letter word in the top-left cell. Scene {@code i} of seed {@code s} is the same on
 * every machine and in every run, whatever was drawn before it.
 *
 * <p>
 * {@link #writeNativeCorpus} writes scenes in Loupe's native import format ({@code docs/dataset-formats.md}), so
 * that the data the tiny base model learned from can be imported into the dataset-service. From the repository
 * root:
 *
 * <pre>
 * mvn -o -q -pl vlm-engine compile exec:java -Dexec.mainClass=dev.loupe.engine.tiny.SyntheticScenes \
 *     -Dexec.args="--out target/scenes --count 500 --seed 7 --task caption"
 * </pre>
 */
public final class SyntheticScenes {
    /** Width and height of every picture, in pixels. */
    public static final int IMAGE_SIZE = 96;
    /** The words a scene may show. */
    public static final List<String> WORDS = List.of("SUN", "CAT", "DOG", "BOX", "CUP", "HAT");
    /** The JSON Schema of the answers to JSON questions ({@link Scene.Item#json()}). */
    public static final String JSON_ANSWER_SCHEMA = """
            {"type": "object", "properties": {"shape": {"enum": ["circle", "square", "triangle"]}, \
            "colour": {"enum": ["red", "green", "blue", "yellow", "purple", "brown"]}}, \
            "required": ["shape", "colour"], "additionalProperties": false}""";

    private static final double WORD_PROBABILITY = 0.3;
    /** Side of a cell of the 3 x 3 grid: a shape stays in its cell, the word in the top-left one. */
    static final int CELL = IMAGE_SIZE / 3;
    private static final int MIN_SIZE = 18;
    private static final int MAX_SIZE = 24;
    /** Shapes move up to this many pixels from their cell's centre. */
    private static final int JITTER = 3;
    /** The word's top-left corner before jitter, which centres it in its cell. */
    private static final int WORD_X = (CELL - PixelFont.width(3)) / 2;
    private static final int WORD_Y = (CELL - PixelFont.HEIGHT) / 2;
    /**
     * The word moves up to this many pixels from its place: less than the shapes, because a word is many small
     * strokes. With 3 pixels the tiny model never learned to read it (the six words stayed at chance after 300
     * steps of nothing but word questions); with 1 it reads them within 250.
     */
    private static final int WORD_JITTER = 1;
    private static final Color WORD_COLOUR = new Color(0x202020);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final long seed;

    public SyntheticScenes(long seed) {
        this.seed = seed;
    }

    public long seed() {
        return seed;
    }

    /** Scene number {@code index}: a pure function of the seed and the index. */
    public Scene scene(long index) {
        // The same mixing as the training loop's step seeds, so that neighbouring seeds share no scenes.
        SplittableRandom random = new SplittableRandom(seed ^ (index * 0x9E3779B97F4A7C15L));
        List<Scene.Place> places = new ArrayList<>(Arrays.asList(Scene.Place.values()));
        int count = 1 + random.nextInt(3);
        List<Scene.Item> items = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Scene.Place place = places.remove(random.nextInt(places.size()));
            Scene.ShapeType shape = Scene.ShapeType.values()[random.nextInt(Scene.ShapeType.values().length)];
            Scene.Colour colour = Scene.Colour.values()[random.nextInt(Scene.Colour.values().length)];
            int size = MIN_SIZE + random.nextInt(MAX_SIZE - MIN_SIZE + 1);
            int x = place.x() + jitter(random, JITTER);
            int y = place.y() + jitter(random, JITTER);
            items.add(new Scene.Item(shape, colour, place, x, y, size));
        }
        String word = random.nextDouble() < WORD_PROBABILITY ? WORDS.get(random.nextInt(WORDS.size())) : null;
        return new Scene(items, word, WORD_X + jitter(random, WORD_JITTER), WORD_Y + jitter(random, WORD_JITTER));
    }

    private static int jitter(SplittableRandom random, int most) {
        return random.nextInt(2 * most + 1) - most;
    }

    /** Draws a scene: white background, anti-aliased shapes, the word in near-black dots. */
    public static BufferedImage render(Scene scene) {
        BufferedImage image = new BufferedImage(IMAGE_SIZE, IMAGE_SIZE, BufferedImage.TYPE_INT_RGB);
        Graphics2D graphics = image.createGraphics();
        try {
            graphics.setColor(Color.WHITE);
            graphics.fillRect(0, 0, IMAGE_SIZE, IMAGE_SIZE);
            graphics.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            for (Scene.Item item : scene.items()) {
                graphics.setColor(new Color(item.colour().rgb()));
                graphics.fill(outline(item));
            }
            if (scene.word() != null) {
                graphics.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_OFF);
                graphics.setColor(WORD_COLOUR);
                PixelFont.draw(graphics, scene.word(), scene.wordX(), scene.wordY());
            }
        } finally {
            graphics.dispose();
        }
        return image;
    }

    private static java.awt.Shape outline(Scene.Item item) {
        double half = item.size() / 2.0;
        double left = item.centreX() - half;
        double top = item.centreY() - half;
        return switch (item.shape()) {
            case CIRCLE -> new Ellipse2D.Double(left, top, item.size(), item.size());
            case SQUARE -> new Rectangle2D.Double(left, top, item.size(), item.size());
            case TRIANGLE -> {
                Path2D.Double triangle = new Path2D.Double();
                triangle.moveTo(item.centreX(), top);
                triangle.lineTo(left + item.size(), top + item.size());
                triangle.lineTo(left, top + item.size());
                triangle.closePath();
                yield triangle;
            }
        };
    }

    /** What the records of an exported corpus ask. */
    public enum CorpusTask {
        /** "Describe the image." answered by the caption; boxes, caption and grounded QA as annotations. */
        CAPTION,
        /** "What is on the left? Answer in JSON." answered by one JSON object, also the expected output. */
        JSON,
        /**
         * "List the colours of the shapes. Answer in JSON." ({@link Scene#colours()}): a task the tiny base never
         * saw, to fine-tune it on.
         */
        COLOURS
    }

    /**
     * Writes scenes {@code 0 .. count-1} in Loupe's native import format: {@code records.jsonl} (one record per
     * scene) and {@code images.zip} (its PNG files, which the records name), plus {@code schema.json} (the answers'
     * JSON Schema) for the JSON task. Both files are byte-for-byte the same for the same arguments.
     */
    public void writeNativeCorpus(Path folder, int count, CorpusTask task) throws IOException {
        Files.createDirectories(folder);
        try (BufferedWriter records = Files.newBufferedWriter(folder.resolve("records.jsonl"),
                StandardCharsets.UTF_8);
                ZipOutputStream images = new ZipOutputStream(Files.newOutputStream(folder.resolve("images.zip")))) {
            for (int index = 0; index < count; index++) {
                Scene scene = scene(index);
                String id = String.format(Locale.ROOT, "scene-%06d", index);
                String imageName = id + ".png";
                ZipEntry entry = new ZipEntry(imageName);
                // A fixed time, so that the archive does not change from run to run.
                entry.setTimeLocal(LocalDateTime.of(2026, 1, 1, 0, 0));
                images.putNextEntry(entry);
                images.write(png(render(scene)));
                images.closeEntry();
                records.write(JSON.writeValueAsString(nativeRecord(scene, id, imageName, task)));
                records.write('\n');
            }
        }
        if (task == CorpusTask.JSON) {
            Files.writeString(folder.resolve("schema.json"), JSON_ANSWER_SCHEMA + "\n");
        }
    }

    private static ObjectNode nativeRecord(Scene scene, String id, String imageName, CorpusTask task)
            throws IOException {
        ObjectNode record = JSON.createObjectNode().put("id", id);
        record.putArray("images").add(imageName);
        ArrayNode messages = record.putArray("messages");
        if (task == CorpusTask.CAPTION) {
            messages.addObject().put("role", "user").put("content", "<image>\n" + Scene.CAPTION_QUESTION);
            messages.addObject().put("role", "assistant").put("content", scene.caption());
            ObjectNode annotations = record.putObject("annotations");
            ArrayNode boxes = annotations.putArray("boxes");
            ArrayNode groundedQa = annotations.putArray("grounded_qa");
            for (int i = 0; i < scene.items().size(); i++) {
                Scene.Item item = scene.items().get(i);
                double half = item.size() / 2.0;
                boxes.addObject()
                        .put("label", item.colour().word() + " " + item.shape().word())
                        .set("box", JSON.createArrayNode()
                                .add(fraction(item.centreX() - half))
                                .add(fraction(item.centreY() - half))
                                .add(fraction(item.centreX() + half))
                                .add(fraction(item.centreY() + half)));
                groundedQa.addObject()
                        .put("question", "What is in the box?")
                        .put("answer", item.description())
                        .put("box", i);
            }
            annotations.putArray("captions").addObject().put("text", scene.caption());
        } else if (task == CorpusTask.COLOURS) {
            Scene.QuestionAnswer colours = scene.colours();
            messages.addObject().put("role", "user").put("content", "<image>\n" + colours.question());
            messages.addObject().put("role", "assistant").put("content", colours.answer());
            record.set("expected_output", JSON.readTree(colours.answer()));
        } else {
            // The first shape in reading order: every scene has one, so every record has a question.
            Scene.Item item = scene.items().get(0);
            messages.addObject()
                    .put("role", "user")
                    .put("content", "<image>\nWhat is " + item.place().phrase() + "?" + Scene.JSON_SUFFIX);
            messages.addObject().put("role", "assistant").put("content", item.json());
            record.set("expected_output", JSON.readTree(item.json()));
        }
        return record;
    }

    private static double fraction(double pixels) {
        return Math.min(1, Math.max(0, pixels / IMAGE_SIZE));
    }

    /**
     * The picture under a dark grey veil, as if taken in a dim room: the same scenes from another distribution of
     * light, for showing and testing drift monitoring.
     */
    public static BufferedImage dimmed(BufferedImage image) {
        BufferedImage dim = new BufferedImage(image.getWidth(), image.getHeight(), BufferedImage.TYPE_INT_RGB);
        Graphics2D graphics = dim.createGraphics();
        graphics.drawImage(image, 0, 0, null);
        graphics.setColor(new Color(20, 20, 20, 190));
        graphics.fillRect(0, 0, image.getWidth(), image.getHeight());
        graphics.dispose();
        return dim;
    }

    /** The image as PNG bytes. */
    public static byte[] png(BufferedImage image) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(image, "png", bytes);
        return bytes.toByteArray();
    }

    /**
     * Writes a corpus: {@code --out <folder>} (required), {@code --count <scenes>} (100), {@code --seed <seed>}
     * (7), {@code --task caption|json} (caption).
     */
    public static void main(String[] args) throws IOException {
        Arguments arguments = Arguments.parse(args, List.of("out", "count", "seed", "task"));
        Path out = Path.of(arguments.required("out"));
        int count = Integer.parseInt(arguments.get("count", "100"));
        long seed = Long.parseLong(arguments.get("seed", "7"));
        CorpusTask task = CorpusTask.valueOf(arguments.get("task", "caption").toUpperCase(Locale.ROOT));
        new SyntheticScenes(seed).writeNativeCorpus(out, count, task);
        System.out.printf("wrote %d scenes (seed %d, task %s) to %s%n", count, seed, task, out);
    }
}
