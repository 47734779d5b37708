package dev.loupe.engine;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Guards against a DJL trap that corrupts training silently: on CPU, {@code mul/div/pow/maximum/minimum(Number)}
 * on an array that needs gradients frees the wrapped scalar before backward reads it. The engine's compiled
 * classes must never call these {@code NDArray} methods with a {@code Number}; the engine uses scalar arrays
 * ({@code manager.full(new Shape(), value)}) instead.
 */
class ScalarOpGuardTest {
    private static final String ND_ARRAY = "ai/djl/ndarray/NDArray";
    private static final Set<String> SCALAR_OPS = Set.of("mul", "muli", "div", "divi", "pow", "powi", "maximum",
            "minimum");
    private static final String NUMBER_ARGUMENT = "(Ljava/lang/Number;)";

    @Test
    void engineNeverCallsScalarNdArrayOps() throws IOException {
        Path classes = Path.of("target", "classes");
        assertTrue(Files.isDirectory(classes), "run after compilation: " + classes.toAbsolutePath());
        List<String> offenders = new ArrayList<>();
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                offenders.addAll(scalarOpCalls(file));
            }
        }
        assertEquals(List.of(), offenders, "use a scalar array, e.g. manager.full(new Shape(), value), instead");
    }

    @Test
    void theGuardRecognisesAScalarOp() throws IOException {
        Path compiled = Path.of("target", "test-classes", "dev", "loupe", "engine",
                "ScalarOpGuardTest$ScalarOpOnPurpose.class");
        assertEquals(1, scalarOpCalls(compiled).size());
    }

    /** A call the guard must catch; it lives in the test classes, which the guard does not scan. */
    static final class ScalarOpOnPurpose {
        static ai.djl.ndarray.NDArray half(ai.djl.ndarray.NDArray array) {
            return array.mul(0.5f);
        }
    }

    private static List<String> scalarOpCalls(Path classFile) throws IOException {
        List<String> found = new ArrayList<>();
        try (InputStream in = Files.newInputStream(classFile)) {
            new ClassReader(in).accept(new ClassVisitor(Opcodes.ASM9) {
                private String className;

                @Override
                public void visit(int version, int access, String name, String signature, String superName,
                        String[] interfaces) {
                    className = name;
                }

                @Override
                public MethodVisitor visitMethod(int access, String method, String descriptor, String signature,
                        String[] exceptions) {
                    return new MethodVisitor(Opcodes.ASM9) {
                        @Override
                        public void visitMethodInsn(int opcode, String owner, String name, String calledDescriptor,
                                boolean isInterface) {
                            if (owner.equals(ND_ARRAY) && SCALAR_OPS.contains(name)
                                    && calledDescriptor.startsWith(NUMBER_ARGUMENT)) {
                                found.add(className + "." + method + " calls NDArray." + name + "(Number)");
                            }
                        }
                    };
                }
            }, ClassReader.SKIP_DEBUG);
        }
        return found;
    }
}
