package dev.loupe.engine.image;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Turns pictures into a LLaVA model's pixel input, {@code [3, S, S]} per picture (channel planes R, G, B), S the
 * vision tower's {@code image_size}, as the checkpoint's {@code preprocessor_config.json} describes it in the keys
 * of Hugging Face's {@code CLIPImageProcessor}: {@code do_resize}, {@code size}, {@code do_rescale},
 * {@code rescale_factor}, {@code do_normalize}, {@code image_mean}, {@code image_std}. Each channel value
 * {@code v} in 0..255 becomes {@code (v * rescale_factor - mean) / std}. Without the file, CLIP's values apply
 * (rescale 1/255, OpenAI CLIP's mean and standard deviation).
 *
 * <p>
 * A picture of another size is resized straight to S x S with Java2D's bicubic interpolation: the aspect ratio is
 * not kept and nothing is cropped, where Hugging Face resizes the shortest edge and crops the centre. Training and
 * serving both use this class, so a fine-tuned model sees at serving what it saw in training. Transparency is
 * dropped (as PIL's {@code convert("RGB")} does) and a grey picture repeats its grey level in the three channels.
 */
public final class ImagePreprocessor {
    public static final String CONFIG_FILE = "preprocessor_config.json";
    /** OpenAI CLIP's per-channel mean and standard deviation, Hugging Face's defaults for its processor. */
    private static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    private static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};
    private static final double CLIP_RESCALE = 1 / 255.0;
    /**
     * Larger pictures are refused before they are decoded: a small compressed file can claim a size whose pixels
     * would not fit in memory.
     */
    static final long MAX_PIXELS = 8192L * 8192L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final int imageSize;
    private final boolean resize;
    private final boolean rescale;
    private final double rescaleFactor;
    private final boolean normalize;
    private final float[] mean;
    private final float[] std;

    private ImagePreprocessor(int imageSize, boolean resize, boolean rescale, double rescaleFactor,
            boolean normalize, float[] mean, float[] std) {
        if (imageSize < 1) {
            throw new IllegalArgumentException("imageSize must be at least 1");
        }
        this.imageSize = imageSize;
        this.resize = resize;
        this.rescale = rescale;
        this.rescaleFactor = rescaleFactor;
        this.normalize = normalize;
        this.mean = mean;
        this.std = std;
    }

    /** CLIP's preprocessing for pictures of {@code imageSize} pixels square. */
    public static ImagePreprocessor clip(int imageSize) {
        return new ImagePreprocessor(imageSize, true, true, CLIP_RESCALE, true, CLIP_MEAN.clone(),
                CLIP_STD.clone());
    }

    /**
     * Resizing to S x S, then {@code (v * rescaleFactor - mean) / std} per channel: what a
     * {@value #CONFIG_FILE} with these values describes.
     */
    public static ImagePreprocessor of(int imageSize, double rescaleFactor, float[] mean, float[] std) {
        if (mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("one mean and one standard deviation per channel (R, G, B)");
        }
        return new ImagePreprocessor(imageSize, true, true, rescaleFactor, true, mean.clone(), std.clone());
    }

    /**
     * The preprocessing of a checkpoint folder: its {@value #CONFIG_FILE}, or CLIP's when it has none.
     *
     * @param imageSize the vision tower's {@code image_size}
     */
    public static ImagePreprocessor forModel(Path modelFolder, int imageSize) throws IOException {
        Path file = modelFolder.resolve(CONFIG_FILE);
        return Files.exists(file) ? read(file, imageSize) : clip(imageSize);
    }

    /**
     * Reads a {@value #CONFIG_FILE}; keys it does not name keep CLIP's values, keys this class does not use
     * ({@code image_processor_type}, {@code resample}, ...) are ignored.
     *
     * @throws IllegalArgumentException naming a key whose value is malformed, or a {@code size} (and
     *         {@code crop_size}) that is not the vision tower's
     */
    public static ImagePreprocessor read(Path file, int imageSize) throws IOException {
        JsonNode root = JSON.readTree(file.toFile());
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(CONFIG_FILE + " must hold a JSON object");
        }
        boolean resize = flag(root, "do_resize", true);
        JsonNode size = root.get("size");
        if (resize && size != null && !size.isNull() && !describes(size, "size", imageSize)) {
            // A processor that resizes to another edge and then crops to the tower's size still fits the model.
            JsonNode crop = root.get("crop_size");
            if (crop == null || crop.isNull() || !describes(crop, "crop_size", imageSize)) {
                throw new IllegalArgumentException(CONFIG_FILE + ": size " + size + " is not the vision tower's "
                        + "image_size " + imageSize);
            }
        }
        boolean rescale = flag(root, "do_rescale", true);
        double rescaleFactor = CLIP_RESCALE;
        JsonNode factor = root.get("rescale_factor");
        if (factor != null && !factor.isNull()) {
            if (!factor.isNumber() || !(factor.asDouble() > 0) || Double.isInfinite(factor.asDouble())) {
                throw new IllegalArgumentException(CONFIG_FILE + ": rescale_factor must be a number > 0");
            }
            rescaleFactor = factor.asDouble();
        }
        boolean normalize = flag(root, "do_normalize", true);
        float[] mean = channels(root, "image_mean", CLIP_MEAN, false);
        float[] std = channels(root, "image_std", CLIP_STD, true);
        return new ImagePreprocessor(imageSize, resize, rescale, rescaleFactor, normalize, mean, std);
    }

    private static boolean flag(JsonNode root, String key, boolean absent) {
        JsonNode value = root.get(key);
        if (value == null || value.isNull()) {
            return absent;
        }
        if (!value.isBoolean()) {
            throw new IllegalArgumentException(CONFIG_FILE + ": " + key + " must be true or false");
        }
        return value.asBoolean();
    }

    /** Whether a size in any of Hugging Face's forms ({@code {height, width}}, {@code {shortest_edge}}, n) is S. */
    private static boolean describes(JsonNode size, String key, int edge) {
        if (size.isInt()) {
            return size.asInt() == edge;
        }
        if (size.isObject() && size.path("shortest_edge").isInt()) {
            return size.get("shortest_edge").asInt() == edge;
        }
        if (size.isObject() && size.path("height").isInt() && size.path("width").isInt()) {
            return size.get("height").asInt() == edge && size.get("width").asInt() == edge;
        }
        throw new IllegalArgumentException(CONFIG_FILE + ": " + key
                + " must be {\"height\": h, \"width\": w}, {\"shortest_edge\": s} or a number");
    }

    /** Three per-channel values; one number stands for all three, as Hugging Face allows. */
    private static float[] channels(JsonNode root, String key, float[] absent, boolean positive) {
        JsonNode value = root.get(key);
        if (value == null || value.isNull()) {
            return absent.clone();
        }
        float[] values = new float[3];
        if (value.isNumber()) {
            Arrays.fill(values, (float) value.asDouble());
        } else if (value.isArray() && value.size() == 3) {
            for (int c = 0; c < 3; c++) {
                if (!value.get(c).isNumber()) {
                    throw new IllegalArgumentException(CONFIG_FILE + ": " + key + " must hold numbers");
                }
                values[c] = (float) value.get(c).asDouble();
            }
        } else {
            throw new IllegalArgumentException(CONFIG_FILE + ": " + key + " must be a number or three numbers");
        }
        for (float v : values) {
            if (!Float.isFinite(v) || (positive && !(v > 0))) {
                throw new IllegalArgumentException(CONFIG_FILE + ": " + key + " must hold finite numbers"
                        + (positive ? " > 0" : ""));
            }
        }
        return values;
    }

    /** S, the side of the square pictures the model reads. */
    public int imageSize() {
        return imageSize;
    }

    /**
     * One picture as the model's input.
     *
     * @return {@code [3, S, S]} flattened
     * @throws IllegalArgumentException if the picture is not S x S and the configuration does not resize
     */
    public float[] pixels(BufferedImage image) {
        float[] out = new float[3 * imageSize * imageSize];
        write(image, out, 0);
        return out;
    }

    /**
     * Pictures as the model's input, in order.
     *
     * @return {@code [I, 3, S, S]} flattened
     */
    public float[] pixels(List<BufferedImage> images) {
        int perImage = 3 * imageSize * imageSize;
        float[] out = new float[images.size() * perImage];
        for (int i = 0; i < images.size(); i++) {
            write(images.get(i), out, i * perImage);
        }
        return out;
    }

    private void write(BufferedImage image, float[] out, int offset) {
        int width = image.getWidth();
        int height = image.getHeight();
        int[] rgb = rgb(image);
        if (width != imageSize || height != imageSize) {
            if (!resize) {
                throw new IllegalArgumentException("the picture is " + width + " x " + height + " pixels; the model "
                        + "reads " + imageSize + " x " + imageSize + " and " + CONFIG_FILE + " says do_resize false");
            }
            BufferedImage resized = resized(toImage(rgb, width, height), imageSize);
            rgb = resized.getRGB(0, 0, imageSize, imageSize, null, 0, imageSize);
        }
        int plane = imageSize * imageSize;
        for (int i = 0; i < plane; i++) {
            int pixel = rgb[i];
            out[offset + i] = value((pixel >> 16) & 0xff, 0);
            out[offset + plane + i] = value((pixel >> 8) & 0xff, 1);
            out[offset + 2 * plane + i] = value(pixel & 0xff, 2);
        }
    }

    /**
     * One channel value. The rescaled value is rounded to float before the mean is subtracted, so that with a
     * rescale of 1/255, mean 1 and standard deviation 1 the result is bitwise {@code v / 255f - 1}, the
     * convention Loupe's tiny base model was pretrained with.
     */
    private float value(int v, int channel) {
        float x = rescale ? (float) (v * rescaleFactor) : v;
        return normalize ? (x - mean[channel]) / std[channel] : x;
    }

    /** The picture's pixels as {@code 0xRRGGBB}, row by row. */
    private static int[] rgb(BufferedImage image) {
        int width = image.getWidth();
        int height = image.getHeight();
        int[] rgb = new int[width * height];
        ColorModel model = image.getColorModel();
        if (model.getColorSpace().getType() == ColorSpace.TYPE_GRAY && !(model instanceof IndexColorModel)) {
            // getRGB reads a grey picture's levels as linear light and brightens them into sRGB; PIL, which the
            // Hugging Face processors use, repeats the stored level in each channel.
            Raster raster = image.getRaster();
            double max = (1 << model.getComponentSize(0)) - 1;
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int level = (int) Math.round(raster.getSample(x, y, 0) * 255 / max);
                    rgb[y * width + x] = level * 0x010101;
                }
            }
            return rgb;
        }
        image.getRGB(0, 0, width, height, rgb, 0, width);
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] &= 0xffffff;
        }
        return rgb;
    }

    private static BufferedImage toImage(int[] rgb, int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        image.setRGB(0, 0, width, height, rgb, 0, width);
        return image;
    }

    /**
     * Bicubic resizing to {@code side x side}. Bicubic interpolation reads a 4 x 4 neighbourhood, so shrinking by
     * much more than 2 in one go would skip most pixels and alias; the picture is halved first, edge by edge,
     * while an edge is at least twice the target, which comes close to PIL's filtered resampling.
     */
    private static BufferedImage resized(BufferedImage image, int side) {
        BufferedImage current = image;
        int width = image.getWidth();
        int height = image.getHeight();
        while (width / 2 >= side || height / 2 >= side) {
            width = width / 2 >= side ? width / 2 : width;
            height = height / 2 >= side ? height / 2 : height;
            current = scaled(current, width, height);
        }
        return scaled(current, side, side);
    }

    private static BufferedImage scaled(BufferedImage source, int width, int height) {
        BufferedImage target = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D graphics = target.createGraphics();
        try {
            graphics.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
            graphics.drawImage(source, 0, 0, width, height, null);
        } finally {
            graphics.dispose();
        }
        return target;
    }

    /**
     * Decodes a PNG or JPEG file (or another format ImageIO reads; not WebP).
     *
     * @throws IllegalArgumentException if the bytes are no picture ImageIO reads, or one of more than
     *         {@value #MAX_PIXELS} pixels
     */
    public static BufferedImage decode(byte[] encoded) throws IOException {
        // In memory: ImageIO's default stream for an InputStream caches to a temporary file and registers a JVM
        // shutdown hook on first use, which fails once shutdown has begun, and the trainer worker still reads
        // pictures then (it finishes its step after SIGTERM).
        try (ImageInputStream input = new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(input);
            if (!readers.hasNext()) {
                throw new IllegalArgumentException("not a picture in a format Loupe reads (PNG, JPEG, GIF, BMP)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(input, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > MAX_PIXELS) {
                    throw new IllegalArgumentException("the picture is " + reader.getWidth(0) + " x "
                            + reader.getHeight(0) + " pixels, more than the " + MAX_PIXELS + " Loupe reads");
                }
                return reader.read(0);
            } finally {
                reader.dispose();
            }
        }
    }
}
