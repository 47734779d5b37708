package dev.loupe.engine.tiny;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.loupe.engine.checkpoint.DType;
import dev.loupe.engine.model.HfCheckpoint;
import dev.loupe.engine.model.LlavaConfig;
import dev.loupe.engine.model.LlavaModel;
import dev.loupe.engine.text.ByteLevelBpeTrainer;
import dev.loupe.engine.text.ChatTokenizer;
import dev.loupe.engine.train.AdamW;
import dev.loupe.engine.train.LearningRateSchedule;
import dev.loupe.engine.train.StepReport;
import dev.loupe.engine.train.TrainingBatch;
import dev.loupe.engine.train.TrainingListener;
import dev.loupe.engine.train.TrainingLoop;
import dev.loupe.engine.train.TrainingSettings;

/**
 * Pretrains {@link TinyBase} from nothing: a byte-level BPE tokenizer learned on the scenes' texts, a small LLaVA
 * model ({@link #config}) initialised from the seed, and full training with the engine's {@link TrainingLoop}
 * (AdamW, linear warmup and cosine decay) on a mixture of captions and questions about fresh
 * {@link SyntheticScenes}. Then it writes the checkpoint folder (FP16 weights, tokenizer, README with the figures
 * of the run), loads it back and measures it on held-out scenes. From the repository root:
 *
 * <pre>
 * mvn -o -q -pl vlm-engine compile exec:java -Dexec.args="--out models/loupe-tiny-base"
 * </pre>
 *
 * <p>
 * Held-out scenes come from seed {@code seed + 1}, and a training scene whose caption is a held-out scene's
 * caption is drawn again, so the held-out captions are never a training target. Everything (data, tokenizer,
 * initial weights, batch order) follows from the seed; with the same thread count the run repeats bit for bit.
 */
public final class PretrainTinyBase {
    /** Half the training rows ask for the caption, the other half one of the scene's questions. */
    private static final double CAPTION_SHARE = 0.5;
    private static final double ONE_SHAPE_SHARE = 0.1;
    private static final double TWO_SHAPES_SHARE = 0.15;
    /** Scenes whose texts the tokenizer learns from. */
    private static final int TOKENIZER_SCENES = 2000;
    private static final int EVALUATION_BATCH = 50;
    /** A training scene that repeats a held-out caption is replaced by the scene this far further on. */
    private static final long REDRAW_STRIDE = 1L << 40;
    private static final ObjectMapper JSON = new ObjectMapper();

    private PretrainTinyBase() {
    }

    /**
     * How to pretrain; {@link #defaults()} made the committed checkpoint.
     *
     * @param batchSize rows per optimizer step, each a fresh scene
     * @param vocabularySize the tokenizer's size at most; it stops earlier when no pair of symbols repeats
     * @param heldOutScenes scenes of the held-out measurement
     * @param output the checkpoint folder to write
     */
    public record Settings(long seed, int steps, int batchSize, double peakLearningRate, int warmupSteps,
            int vocabularySize, int heldOutScenes, Path output) {

        public static Settings defaults() {
            return new Settings(7, 3000, 32, 7e-4, 100, 512, 200, Path.of(TinyBase.FOLDER));
        }

        /** Options {@code --seed --steps --batch --lr --warmup --vocab --held-out --out} over the defaults. */
        public static Settings parse(String[] args) {
            Settings d = defaults();
            Arguments a = Arguments.parse(args, List.of("seed", "steps", "batch", "lr", "warmup", "vocab",
                    "held-out", "out"));
            return new Settings(Long.parseLong(a.get("seed", String.valueOf(d.seed()))),
                    Integer.parseInt(a.get("steps", String.valueOf(d.steps()))),
                    Integer.parseInt(a.get("batch", String.valueOf(d.batchSize()))),
                    Double.parseDouble(a.get("lr", String.valueOf(d.peakLearningRate()))),
                    Integer.parseInt(a.get("warmup", String.valueOf(d.warmupSteps()))),
                    Integer.parseInt(a.get("vocab", String.valueOf(d.vocabularySize()))),
                    Integer.parseInt(a.get("held-out", String.valueOf(d.heldOutScenes()))),
                    Path.of(a.get("out", d.output().toString())));
        }

        /** The options that give these settings, all of them, for the README's command. */
        public String arguments() {
            return String.format(Locale.ROOT, "--seed %d --steps %d --batch %d --lr %s --warmup %d --vocab %d"
                    + " --held-out %d --out %s", seed, steps, batchSize, peakLearningRate, warmupSteps,
                    vocabularySize, heldOutScenes, output);
        }
    }

    /**
     * What a run did.
     *
     * @param parameters of the model, all trainable
     * @param firstLoss the mean training loss of the first 20 steps
     * @param lastLoss the mean training loss of the last 20 steps
     * @param trainingTime the optimizer steps alone
     * @param wallTime the whole run, evaluation included
     * @param captions the reloaded checkpoint on the held-out scenes' captions
     * @param questions the reloaded checkpoint on one question per held-out scene
     */
    public record Result(long parameters, int steps, double firstLoss, double lastLoss, Duration trainingTime,
            Duration wallTime, SceneTasks.Evaluation captions, SceneTasks.Evaluation questions) {
    }

    /**
     * The tiny base model's shape: a 2-layer CLIP-style vision tower (width 128) whose patches are the cells of the
     * scenes' 3 x 3 grid (9 image tokens, one per place a shape or the word can take), and a 3-layer Llama decoder of
     * width 192.
     */
    public static LlavaConfig config(int vocabularySize, long imageTokenIndex) {
        return new LlavaConfig("llava", imageTokenIndex, "gelu", -1, "default",
                new LlavaConfig.VisionConfig(128, 512, 2, 4, SyntheticScenes.IMAGE_SIZE, SyntheticScenes.CELL, 1e-5),
                new LlavaConfig.TextConfig("llama", vocabularySize, 192, 512, 3, 4, 4, 1e-6, 10_000, 256, false));
    }

    public static void main(String[] args) throws IOException {
        Settings settings = Settings.parse(args);
        Result result = run(settings);
        System.out.printf(Locale.ROOT, "held-out caption exact match %.1f%%, question exact match %.1f%%, in %s%n",
                100 * result.captions().exactMatch(), 100 * result.questions().exactMatch(), result.wallTime());
    }

    /** Runs the whole pretraining: tokenizer, training, checkpoint, held-out measurement, README. */
    public static Result run(Settings settings) throws IOException {
        long start = System.nanoTime();
        Files.createDirectories(settings.output());
        SyntheticScenes heldOutSource = new SyntheticScenes(settings.seed() + 1);
        List<Scene> heldOut = new ArrayList<>();
        for (int i = 0; i < settings.heldOutScenes(); i++) {
            heldOut.add(heldOutSource.scene(i));
        }
        TrainingScenes training = new TrainingScenes(new SyntheticScenes(settings.seed()),
                heldOut.stream().map(Scene::caption).collect(Collectors.toSet()), settings.steps());

        Path tokenizerJson = settings.output().resolve(TinyBase.TOKENIZER_FILE);
        ByteLevelBpeTrainer.train(tokenizerCorpus(training), settings.vocabularySize(), ChatTokenizer.SPECIAL_TOKENS,
                tokenizerJson);
        LlavaConfig config;
        try (ChatTokenizer probe = ChatTokenizer.load(tokenizerJson, 1)) {
            config = config(vocabularySize(tokenizerJson), probe.imageTokenId());
        }
        Training trained = train(settings, config, training, tokenizerJson);
        writePreprocessorConfig(settings.output());

        // The figures are those of the checkpoint as written: FP16 weights, read back.
        SceneTasks.Evaluation captions;
        SceneTasks.Evaluation questions;
        try (NDManager manager = NDManager.newBaseManager();
                TinyBase base = TinyBase.load(manager, settings.output())) {
            captions = SceneTasks.evaluate(manager, base.model(), base.tokenizer(), heldOut,
                    heldOut.stream().map(SceneTasks::caption).toList(), EVALUATION_BATCH);
            List<Scene.QuestionAnswer> asked = new ArrayList<>();
            for (int i = 0; i < heldOut.size(); i++) {
                List<Scene.QuestionAnswer> all = heldOut.get(i).questionAnswers();
                asked.add(all.get(new SplittableRandom(i).nextInt(all.size())));
            }
            questions = SceneTasks.evaluate(manager, base.model(), base.tokenizer(), heldOut, asked,
                    EVALUATION_BATCH);
        }
        List<StepReport> reports = trained.reports();
        Result result = new Result(trained.parameters(), settings.steps(),
                meanLoss(reports.subList(0, Math.min(20, reports.size()))),
                meanLoss(reports.subList(Math.max(0, reports.size() - 20), reports.size())), trained.time(),
                Duration.ofNanos(System.nanoTime() - start), captions, questions);
        Files.writeString(settings.output().resolve("README.md"), readme(settings, config, result));
        return result;
    }

    /** What {@link #train} did. */
    private record Training(long parameters, List<StepReport> reports, Duration time) {
    }

    /** Trains a model from the seed's random weights and writes it, in FP16, to the output folder. */
    private static Training train(Settings settings, LlavaConfig config, TrainingScenes training, Path tokenizerJson)
            throws IOException {
        try (NDManager manager = NDManager.newBaseManager();
                ChatTokenizer tokenizer = ChatTokenizer.load(tokenizerJson, config.imageTokens())) {
            Engine.getInstance().setRandomSeed((int) settings.seed());
            LlavaModel model = new LlavaModel(config);
            model.initialize(manager, DataType.FLOAT32, new Shape(1, 8));
            long parameters = parameterCount(model);
            System.out.printf(Locale.ROOT, "tiny base: %d parameters, vocabulary %d, %d steps of %d rows%n",
                    parameters, config.textConfig().vocabSize(), settings.steps(), settings.batchSize());
            List<StepReport> reports;
            long start = System.nanoTime();
            try (AdamW optimizer = AdamW.builder().build(model)) {
                TrainingLoop loop = new TrainingLoop(model, optimizer,
                        new LearningRateSchedule(settings.peakLearningRate(), settings.warmupSteps(),
                                settings.steps(), 0.1),
                        TrainingSettings.builder().setTotalSteps(settings.steps()).optSeed(settings.seed()).build());
                loop.addListener(progress(start));
                reports = loop.train(position -> training.batch(tokenizer, position, settings.batchSize()));
            }
            Duration time = Duration.ofNanos(System.nanoTime() - start);
            HfCheckpoint.save(model, settings.output(), DType.F16, Long.MAX_VALUE);
            return new Training(parameters, reports, time);
        }
    }

    /**
     * The training scenes: scene {@code i} of the training seed, drawn again (further on in the same sequence)
     * while its caption is a held-out one or it has more shapes than the curriculum allows yet; and the question
     * each row asks.
     *
     * <p>
     * The curriculum: one shape per scene for the first {@value #ONE_SHAPE_SHARE} of the steps, at most two for the
     * next {@value #TWO_SHAPES_SHARE}, then one to three. Trained on one to three shapes from the start, the model
     * learned where shapes are but not their colours and kinds (which colour belongs to which place is hard to
     * tell before either is known); on single shapes it learns colours and kinds within a few hundred steps, and
     * then which belongs where.
     */
    private record TrainingScenes(SyntheticScenes source, Set<String> heldOutCaptions, long steps) {

        Scene scene(long index, int maxShapes) {
            for (long attempt = 0;; attempt++) {
                Scene scene = source.scene(index + attempt * REDRAW_STRIDE);
                if (scene.items().size() <= maxShapes && !heldOutCaptions.contains(scene.caption())) {
                    return scene;
                }
            }
        }

        int maxShapes(long step) {
            if (step < ONE_SHAPE_SHARE * steps) {
                return 1;
            }
            return step < (ONE_SHAPE_SHARE + TWO_SHAPES_SHARE) * steps ? 2 : 3;
        }

        Scene.QuestionAnswer question(Scene scene, long index) {
            // A generator of its own, split from the scene's seed so that it draws other numbers than the scene.
            SplittableRandom random = new SplittableRandom(source.seed() ^ (index * 0x9E3779B97F4A7C15L)).split();
            if (random.nextDouble() < CAPTION_SHARE) {
                return SceneTasks.caption(scene);
            }
            List<Scene.QuestionAnswer> all = scene.questionAnswers();
            return all.get(random.nextInt(all.size()));
        }

        /** The batch of an optimizer step (the loop reads batch {@code k} for step {@code k}). */
        TrainingBatch batch(ChatTokenizer tokenizer, long step, int rows) {
            List<Scene> scenes = new ArrayList<>();
            List<Scene.QuestionAnswer> asked = new ArrayList<>();
            for (int row = 0; row < rows; row++) {
                long index = step * rows + row;
                Scene scene = scene(index, maxShapes(step));
                scenes.add(scene);
                asked.add(question(scene, index));
            }
            return SceneTasks.batch(tokenizer, scenes, asked);
        }
    }

    /**
     * Every piece of text the chat tokenizer will be given for the first scenes, as it is cut there: the role
     * headers, the line feed and question after the image, the answers.
     */
    private static List<String> tokenizerCorpus(TrainingScenes training) {
        List<String> corpus = new ArrayList<>(List.of("user\n", "assistant\n", "system\n", "\n"));
        for (int i = 0; i < TOKENIZER_SCENES; i++) {
            Scene scene = training.scene(i, 3);
            List<Scene.QuestionAnswer> all = new ArrayList<>(scene.questionAnswers());
            all.add(SceneTasks.caption(scene));
            for (Scene.QuestionAnswer questionAnswer : all) {
                corpus.add("\n" + questionAnswer.question());
                corpus.add(questionAnswer.answer());
            }
        }
        return corpus;
    }

    /** One more than the largest token id of a {@code tokenizer.json}, its added tokens included. */
    private static int vocabularySize(Path tokenizerJson) throws IOException {
        JsonNode root = JSON.readTree(tokenizerJson.toFile());
        int largest = -1;
        for (JsonNode id : root.path("model").path("vocab")) {
            largest = Math.max(largest, id.asInt());
        }
        for (JsonNode added : root.path("added_tokens")) {
            largest = Math.max(largest, added.path("id").asInt());
        }
        return largest + 1;
    }

    /** What Hugging Face's image processors need to prepare pictures as {@link TinyBase#pixels} does. */
    private static void writePreprocessorConfig(Path folder) throws IOException {
        ObjectNode config = JSON.createObjectNode()
                .put("image_processor_type", "CLIPImageProcessor")
                .put("do_resize", false)
                .put("do_center_crop", false)
                .put("do_rescale", true)
                .put("rescale_factor", 1 / 255.0)
                .put("do_normalize", true);
        config.putArray("image_mean").add(1.0).add(1.0).add(1.0);
        config.putArray("image_std").add(1.0).add(1.0).add(1.0);
        config.putObject("size").put("height", SyntheticScenes.IMAGE_SIZE).put("width", SyntheticScenes.IMAGE_SIZE);
        JSON.writerWithDefaultPrettyPrinter().writeValue(folder.resolve("preprocessor_config.json").toFile(), config);
    }

    private static long parameterCount(LlavaModel model) {
        long count = 0;
        for (Pair<String, Parameter> parameter : model.getParameters()) {
            count += parameter.getValue().getArray().size();
        }
        return count;
    }

    private static double meanLoss(List<StepReport> reports) {
        return reports.stream().mapToDouble(StepReport::loss).average().orElse(Double.NaN);
    }

    /** Prints the mean loss, rate and elapsed time every 50 steps. */
    private static TrainingListener progress(long start) {
        List<Double> window = new ArrayList<>();
        return report -> {
            window.add(report.loss());
            if (report.step() % 50 == 0) {
                System.out.printf(Locale.ROOT, "step %5d  loss %.4f  lr %.2e  %.0f tokens/s  %.0f s%n",
                        report.step(), window.stream().mapToDouble(Double::doubleValue).average().orElseThrow(),
                        report.learningRate(), report.tokensPerSecond(), (System.nanoTime() - start) / 1e9);
                window.clear();
            }
        };
    }

    private static String readme(Settings settings, LlavaConfig config, Result result) throws IOException {
        LlavaConfig.VisionConfig vision = config.visionConfig();
        LlavaConfig.TextConfig text = config.textConfig();
        long bytes;
        try (var files = Files.list(settings.output())) {
            bytes = files.filter(file -> !file.getFileName().toString().equals("README.md"))
                    .mapToLong(file -> file.toFile().length())
                    .sum();
        }
        Scene example = new SyntheticScenes(settings.seed() + 1).scene(0);
        return String.format(Locale.ROOT,
                """
                        # Loupe tiny base

                        Loupe's own vision-language model: a LLaVA-family model of %,d parameters that Loupe pretrains
                        itself, from random weights, on pictures its own code draws. It is committed so that the platform's
                        main job (fine-tuning and serving a vision-language model) and its tests run offline, with nothing
                        to download. This file is written by the pretraining run; its figures are that run's.

                        It knows one small world: %d x %d pictures with one to three shapes (circle, square, triangle) in six
                        colours (red, green, blue, yellow, purple, brown), each at one of five places (the top, left, center,
                        right and bottom cells of a 3 x 3 grid), and sometimes a three-letter word in the top-left cell. It
                        captions them and
                        answers questions about them, in words or in JSON. Held-out scene 0, for example, is captioned
                        "%s".

                        ## Files

                        | file | content |
                        |---|---|
                        | `config.json` | the Hugging Face LLaVA configuration |
                        | `model.safetensors` | the weights in FP16, with transformers' LLaVA tensor names |
                        | `tokenizer.json` | a byte-level BPE tokenizer of %d tokens (Hugging Face format) |
                        | `preprocessor_config.json` | the image preprocessing: %d x %d RGB, white 0 and black -1 |

                        The files other than this one take %.1f MB. In code: `TinyBase.load(manager)` (module `vlm-engine`,
                        package `dev.loupe.engine.tiny`), which finds this folder from the working directory. Prompts use
                        Loupe's chat template (ChatML, `<image>` for the picture): a user turn `<image>\nDescribe the
                        image.` is answered with the caption.

                        ## Model

                        - Vision tower: CLIP-style, %d layers, width %d, %d heads, %d x %d-pixel patches, so %d image
                          tokens per picture.
                        - Projector: two linear layers with GELU.
                        - Decoder: Llama, %d layers, width %d, %d heads, SwiGLU width %d, RoPE, vocabulary %d.

                        ## Data

                        `dev.loupe.engine.tiny.SyntheticScenes` with seed %d. Every optimizer step draws %d new scenes
                        (one shape each for the first %.0f%% of the steps, at most two for the next %.0f%%, then one to
                        three: see `PretrainTinyBase` for why); half the rows ask for the caption ("%s"), the other half one of the scene's questions, e.g. "How
                        many shapes are there?", "What colour is the circle?", "Where is the red circle?", "What word is
                        written?", "What is on the left?" and "What is on the left?%s" (answer
                        `{"shape": "circle", "colour": "red"}`). The tokenizer is learned from the texts of the first %d
                        training scenes.

                        ## Training

                        Full training from random weights (initialised from the seed): %d steps of %d rows, AdamW (betas
                        0.9 and 0.999, weight decay 0.01), peak learning rate %s with %d warmup steps and cosine decay to a
                        tenth, global gradient norm clipped at 1, FP32. The training loss went from %.3f (mean of the first
                        20 steps) to %.4f (last 20). Training took %s, the whole run %s, on %d CPU cores.

                        ## Held-out results

                        %d held-out scenes (seed %d); no training scene has the caption of a held-out scene. Greedy answers
                        of this checkpoint as written (FP16 weights read back):

                        | task | exact match | loss per answer token |
                        |---|---|---|
                        | caption | %.1f%% | %.4f |
                        | one of the scene's questions | %.1f%% | %.4f |

                        ## Reproduce

                        From the repository root:

                        ```sh
                        mvn -o -q -pl vlm-engine compile exec:java -Dexec.args="%s"
                        ```

                        The data, the tokenizer, the initial weights and the order of the batches follow from the seed. On
                        a machine with the same number of cores (libtorch's thread count) the run repeats bit for bit;
                        another thread count sums in another order and may change the last bits of the weights.
                        """,
                result.parameters(), SyntheticScenes.IMAGE_SIZE, SyntheticScenes.IMAGE_SIZE, example.caption(),
                text.vocabSize(), SyntheticScenes.IMAGE_SIZE, SyntheticScenes.IMAGE_SIZE, bytes / 1e6,
                vision.numHiddenLayers(), vision.hiddenSize(), vision.numAttentionHeads(), vision.patchSize(),
                vision.patchSize(), config.imageTokens(), text.numHiddenLayers(), text.hiddenSize(),
                text.numAttentionHeads(), text.intermediateSize(), text.vocabSize(), settings.seed(),
                settings.batchSize(), 100 * ONE_SHAPE_SHARE, 100 * TWO_SHAPES_SHARE, Scene.CAPTION_QUESTION,
                Scene.JSON_SUFFIX, TOKENIZER_SCENES, settings.steps(),
                settings.batchSize(), settings.peakLearningRate(), settings.warmupSteps(), result.firstLoss(),
                result.lastLoss(), minutes(result.trainingTime()), minutes(result.wallTime()),
                Runtime.getRuntime().availableProcessors(), settings.heldOutScenes(), settings.seed() + 1,
                100 * result.captions().exactMatch(), result.captions().loss(),
                100 * result.questions().exactMatch(), result.questions().loss(), settings.arguments());
    }

    private static String minutes(Duration duration) {
        return String.format(Locale.ROOT, "%d min %02d s", duration.toMinutes(), duration.toSecondsPart());
    }
}
