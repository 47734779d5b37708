package dev.loupe.support.grpc;

import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Any;
import jakarta.enterprise.inject.Instance;

import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.quarkus.runtime.StartupEvent;

import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/**
 * The gRPC half of the role matrix: which capability each RPC requires, read at start-up from the
 * {@link Authorized} annotations on the service implementations. An RPC without one is denied.
 */
@ApplicationScoped
public class RpcAuthorizations {
    /** Services every caller may use without a token: health probes and schema reflection. */
    private static final Set<String> PUBLIC_SERVICE_PREFIXES = Set.of("grpc.health.", "grpc.reflection.");

    private volatile Map<String, Capability> byFullMethodName = Map.of();

    void onStart(@Observes StartupEvent event, @Any Instance<BindableService> services) {
        Map<String, Capability> table = new HashMap<>();
        for (Instance.Handle<BindableService> handle : services.handles()) {
            ServiceDescriptor descriptor = handle.get().bindService().getServiceDescriptor();
            if (isPublic(descriptor.getName() + "/")) {
                continue;
            }
            table.putAll(capabilitiesOf(handle.getBean().getBeanClass(), descriptor));
        }
        byFullMethodName = Map.copyOf(table);
    }

    /** The capability an RPC requires, empty when it names none (and must be denied). */
    public Optional<Capability> capabilityOf(String fullMethodName) {
        return Optional.ofNullable(byFullMethodName.get(fullMethodName));
    }

    public static boolean isPublic(String fullMethodName) {
        return PUBLIC_SERVICE_PREFIXES.stream().anyMatch(fullMethodName::startsWith);
    }

    /**
     * Matches the annotated methods of a service implementation to the RPCs of its descriptor. The generated
     * Mutiny base classes name each method after its RPC with a lower-case first letter.
     */
    static Map<String, Capability> capabilitiesOf(Class<?> implementation, ServiceDescriptor descriptor) {
        Map<String, String> rpcByJavaName = descriptor.getMethods()
                .stream()
                .collect(Collectors.toMap(m -> lowerFirst(m.getBareMethodName()), MethodDescriptor::getFullMethodName));
        Map<String, Capability> table = new HashMap<>();
        for (Class<?> type = implementation; type != null && type != Object.class; type = type.getSuperclass()) {
            for (Method method : type.getDeclaredMethods()) {
                Authorized authorized = method.getAnnotation(Authorized.class);
                if (authorized == null) {
                    continue;
                }
                String rpc = rpcByJavaName.get(method.getName());
                if (rpc == null) {
                    throw new IllegalStateException(implementation.getName() + "." + method.getName()
                            + " is @Authorized but is not an RPC of " + descriptor.getName());
                }
                table.putIfAbsent(rpc, authorized.value());
            }
        }
        return table;
    }

    private static String lowerFirst(String name) {
        return Character.toLowerCase(name.charAt(0)) + name.substring(1);
    }
}
