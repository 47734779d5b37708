package dev.loupe.engine.worker;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.loupe.engine.checkpoint.DType;
import dev.loupe.engine.model.HfCheckpoint;
import dev.loupe.engine.model.LlavaConfig;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.text.ByteLevelBpeTrainer;
import dev.loupe.engine.text.ChatTokenizer;

/**
 * A tiny job on disk: a random LLaVA model of a few thousand parameters with a tokenizer trained on the examples'
 * texts, 16 x 16 pictures of plain colours, and examples that ask for the colour. Small enough that a whole job runs
 * in a second or two.
 */
final class WorkerFixture {
    static final ObjectMapper JSON = new ObjectMapper();
    /** The pictures are 16 x 16; the vision tower reads 8 x 8 in patches of 4, so 4 image tokens a picture. */
    static final int PICTURE_SIDE = 16;
    private static final int IMAGE_SIZE = 8;
    private static final int VOCABULARY = 300;
    private static final Map<String, Color> COLOURS = Map.of("red", Color.RED, "green", Color.GREEN, "blue",
            Color.BLUE, "yellow", Color.YELLOW, "black", Color.BLACK, "white", Color.WHITE);
    private static final List<String> TRAIN_COLOURS = List.of("red", "green", "blue", "yellow", "black", "white");

    final Path dir;
    final Path base;
    final Path data;

    private WorkerFixture(Path dir) {
        this.dir = dir;
        this.base = dir.resolve("base");
        this.data = dir.resolve("data");
    }

    /** Writes the base model, the pictures and the example files. */
    static WorkerFixture create(Path dir) throws Exception {
        WorkerFixture fixture = new WorkerFixture(dir);
        fixture.writeData();
        fixture.writeBase();
        return fixture;
    }

    private void writeData() throws IOException {
        Files.createDirectories(data.resolve("pictures"));
        for (Map.Entry<String, Color> colour : COLOURS.entrySet()) {
            BufferedImage picture = new BufferedImage(PICTURE_SIDE, PICTURE_SIDE, BufferedImage.TYPE_INT_RGB);
            Graphics2D graphics = picture.createGraphics();
            graphics.setColor(colour.getValue());
            graphics.fillRect(0, 0, PICTURE_SIDE, PICTURE_SIDE);
            graphics.dispose();
            ImageIO.write(picture, "png", data.resolve("pictures").resolve(colour.getKey() + ".png").toFile());
        }
        List<String> train = new ArrayList<>();
        for (String colour : TRAIN_COLOURS) {
            train.add(example("train-" + colour, colour));
        }
        Files.write(data.resolve("train.jsonl"), train);
        Files.write(data.resolve("validation.jsonl"), List.of(example("val-red", "red"), example("val-blue", "blue")));
    }

    private static String example(String id, String colour) {
        ObjectNode line = JSON.createObjectNode().put("id", id);
        line.putArray("images").add("pictures/" + colour + ".png");
        var messages = line.putArray("messages");
        messages.addObject().put("role", "user").put("content", ChatTokenizer.IMAGE_PLACEHOLDER + "\nWhat colour?");
        messages.addObject().put("role", "assistant").put("content", "It is " + colour + ".");
        return line.toString();
    }

    private void writeBase() throws IOException {
        Files.createDirectories(base);
        List<String> corpus = new ArrayList<>();
        for (String colour : COLOURS.keySet()) {
            corpus.add("user\nWhat colour?\nassistant\nIt is " + colour + ".\n");
        }
        Path tokenizerJson = base.resolve(TrainerWorker.TOKENIZER_FILE);
        ByteLevelBpeTrainer.train(corpus, VOCABULARY, ChatTokenizer.SPECIAL_TOKENS, tokenizerJson);
        long imageToken;
        try (ChatTokenizer tokenizer = ChatTokenizer.load(tokenizerJson, 4)) {
            imageToken = tokenizer.imageTokenId();
        }
        LlavaConfig config = new LlavaConfig("llava", imageToken, "gelu", -2, "default",
                new LlavaConfig.VisionConfig(12, 20, 2, 2, IMAGE_SIZE, 4, 1e-5),
                new LlavaConfig.TextConfig("llama", VOCABULARY, 16, 24, 2, 4, 2, 1e-6, 10_000, 128, false));
        try (NDManager manager = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(3);
            LlavaModel model = new LlavaModel(config);
            model.initialize(manager, DataType.FLOAT32, new Shape(1, 8));
            // A random head of the usual small scale gives near-uniform predictions that adapters on the layers
            // cannot sharpen within a few steps; a trained model's head has this range.
            Random random = new Random(3);
            NDArray head = HfCheckpoint.parameters(model).get("language_model.lm_head.weight").getArray();
            float[] values = new float[(int) head.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) random.nextGaussian();
            }
            head.set(FloatBuffer.wrap(values));
            HfCheckpoint.save(model, base, DType.F32, Long.MAX_VALUE);
        }
        // Loupe's tiny-base convention: white is 0, black -1.
        Files.writeString(base.resolve("preprocessor_config.json"), "{\"image_processor_type\": "
                + "\"CLIPImageProcessor\", \"do_resize\": true, \"size\": {\"height\": 8, \"width\": 8}, "
                + "\"do_rescale\": true, \"rescale_factor\": 0.00392156862745098, \"do_normalize\": true, "
                + "\"image_mean\": [1, 1, 1], \"image_std\": [1, 1, 1]}");
    }

    /** A LoRA spec over the fixture: 6 examples in batches of 2, 4 epochs of 3 steps. */
    ObjectNode spec(Path output) {
        ObjectNode spec = JSON.createObjectNode()
                .put("job_id", "job-1")
                .put("base_model", base.toString())
                .put("output", output.toString())
                .put("train_examples", data.resolve("train.jsonl").toString())
                .put("validation_examples", data.resolve("validation.jsonl").toString())
                .put("seed", 5);
        ObjectNode method = spec.putObject("method").put("type", "lora");
        ObjectNode lora = method.putObject("lora").put("rank", 4).put("alpha", 8).put("dropout", 0.1);
        lora.putArray("target_modules").add("q_proj").add("v_proj").add("gate_proj");
        spec.putObject("hyperparameters")
                .put("epochs", 4)
                .put("batch_size", 2)
                .put("learning_rate", 0.02)
                .put("warmup_ratio", 0.1)
                .put("weight_decay", 0.01)
                .put("gradient_accumulation_steps", 1);
        return spec;
    }

    static JobSpec read(ObjectNode spec) {
        return JobSpec.parse(spec.toString(), Path.of("/"));
    }

    /** Reports written to a buffer as the worker writes them to standard output. */
    static final class CapturedReports implements WorkerReports {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final JsonLinesReports json = new JsonLinesReports(new PrintStream(bytes, true,
                StandardCharsets.UTF_8));

        @Override
        public void report(WorkerReport report) {
            json.report(report);
        }

        /** Every line, parsed: each must be one JSON object. */
        List<JsonNode> lines() throws IOException {
            List<JsonNode> lines = new ArrayList<>();
            for (String line : bytes.toString(StandardCharsets.UTF_8).split("\n")) {
                lines.add(JSON.readTree(line));
            }
            return lines;
        }
    }

    /** Every file under a folder with its bytes. */
    static Map<Path, byte[]> files(Path folder) throws IOException {
        Map<Path, byte[]> files = new HashMap<>();
        try (Stream<Path> paths = Files.walk(folder)) {
            for (Path path : paths.filter(Files::isRegularFile).toList()) {
                files.put(folder.relativize(path), Files.readAllBytes(path));
            }
        }
        return files;
    }
}
