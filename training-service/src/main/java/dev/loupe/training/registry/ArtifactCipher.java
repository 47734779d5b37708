package dev.loupe.training.registry;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals one file of a model version (an adapter's or a full model's weights, which can memorise training images)
 * with AES-256-GCM under the version's data key, in chunks of {@value #CHUNK_BYTES} bytes so that files of any
 * size stream through a fixed amount of memory. Each chunk has its own nonce (a random per-file prefix, the chunk's
 * number and whether it is the last), and the additional authenticated data binds the tenant, the model version and
 * the file name: chunks cannot be reordered, dropped, cut off at the end or moved to another file or version
 * without the file failing to open. Layout: the 8 bytes {@code LOUPEMV1}, the 7-byte nonce prefix, then each chunk's
 * ciphertext with its 16-byte tag; every chunk but the last is full.
 */
public final class ArtifactCipher {
    static final int CHUNK_BYTES = 1 << 20;
    private static final byte[] MAGIC = "LOUPEMV1".getBytes(StandardCharsets.US_ASCII);
    private static final int PREFIX_BYTES = 7;
    private static final int TAG_BYTES = 16;
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Where a file belongs; every field is bound into each chunk. */
    public record Place(String tenant, String modelVersionId, String fileName) {
        byte[] aad() {
            try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                    DataOutputStream out = new DataOutputStream(bytes)) {
                for (String part : new String[]{"loupe.training.model-file.v1", tenant, modelVersionId, fileName}) {
                    byte[] utf8 = part.getBytes(StandardCharsets.UTF_8);
                    out.writeInt(utf8.length);
                    out.write(utf8);
                }
                out.flush();
                return bytes.toByteArray();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private ArtifactCipher() {
    }

    /** Encrypts {@code in} to its end into {@code out}. */
    public static void seal(byte[] dataKey, Place place, InputStream in, OutputStream out) throws IOException {
        byte[] prefix = new byte[PREFIX_BYTES];
        RANDOM.nextBytes(prefix);
        out.write(MAGIC);
        out.write(prefix);
        byte[] aad = place.aad();
        byte[] current = in.readNBytes(CHUNK_BYTES);
        int index = 0;
        while (true) {
            byte[] next = current.length == CHUNK_BYTES ? in.readNBytes(CHUNK_BYTES) : new byte[0];
            boolean last = next.length == 0;
            out.write(crypt(Cipher.ENCRYPT_MODE, dataKey, prefix, index, last, aad, current, current.length));
            if (last) {
                return;
            }
            current = next;
            index++;
        }
    }

    /**
     * Decrypts a sealed file into {@code out}.
     *
     * @throws ArtifactUnreadableException when the file was altered, cut off, or belongs to another place or key
     */
    public static void open(byte[] dataKey, Place place, InputStream in, OutputStream out) throws IOException {
        byte[] header = in.readNBytes(MAGIC.length + PREFIX_BYTES);
        if (header.length != MAGIC.length + PREFIX_BYTES || !Arrays.equals(header, 0, MAGIC.length, MAGIC, 0,
                MAGIC.length)) {
            throw new ArtifactUnreadableException("the stored file is not an encrypted Loupe model file");
        }
        byte[] prefix = Arrays.copyOfRange(header, MAGIC.length, header.length);
        byte[] aad = place.aad();
        int sealedChunk = CHUNK_BYTES + TAG_BYTES;
        byte[] current = in.readNBytes(sealedChunk);
        int index = 0;
        while (true) {
            if (current.length < TAG_BYTES) {
                throw new ArtifactUnreadableException("the stored file is cut off");
            }
            byte[] next = current.length == sealedChunk ? in.readNBytes(sealedChunk) : new byte[0];
            boolean last = next.length == 0;
            out.write(crypt(Cipher.DECRYPT_MODE, dataKey, prefix, index, last, aad, current, current.length));
            if (last) {
                return;
            }
            current = next;
            index++;
        }
    }

    private static byte[] crypt(int mode, byte[] dataKey, byte[] prefix, int index, boolean last, byte[] aad,
            byte[] input, int length) {
        byte[] nonce = ByteBuffer.allocate(12).put(prefix).putInt(index).put((byte) (last ? 1 : 0)).array();
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(mode, new SecretKeySpec(dataKey, "AES"), new GCMParameterSpec(TAG_BYTES * 8, nonce));
            cipher.updateAAD(aad);
            return cipher.doFinal(input, 0, length);
        } catch (AEADBadTagException e) {
            throw new ArtifactUnreadableException("the stored model file failed its integrity check: it was altered,"
                    + " cut off, or belongs to another model version");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this JVM", e);
        }
    }

    /** A sealed model file that cannot be opened: never answered with other bytes. */
    public static final class ArtifactUnreadableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ArtifactUnreadableException(String message) {
            super(message);
        }
    }
}
