package dev.loupe.support.grpc;

import java.io.InputStream;
import java.util.Map;

import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import org.junit.jupiter.api.Test;

import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RpcAuthorizationsTest {

    private static final ServiceDescriptor DESCRIPTOR = ServiceDescriptor.newBuilder("test.v1.Things")
            .addMethod(method("GetThing"))
            .addMethod(method("DeleteThing"))
            .addMethod(method("ListThings"))
            .build();

    static class Things {
        @Authorized(Capability.DATASETS_READ)
        public void getThing() {
        }

        @Authorized(Capability.DATASETS_MANAGE)
        public void deleteThing() {
        }

        // listThings has no capability: it must be absent from the table, and so denied.
        public void listThings() {
        }
    }

    static class Misspelled {
        @Authorized(Capability.DATASETS_READ)
        public void getThings() {
        }
    }

    @Test
    void annotatedMethodsMapToTheirRpcs() {
        Map<String, Capability> table = RpcAuthorizations.capabilitiesOf(Things.class, DESCRIPTOR);
        assertEquals(Map.of("test.v1.Things/GetThing", Capability.DATASETS_READ, "test.v1.Things/DeleteThing",
                Capability.DATASETS_MANAGE), table);
    }

    @Test
    void annotationOnANonRpcMethodFailsStartUp() {
        assertThrows(IllegalStateException.class, () -> RpcAuthorizations.capabilitiesOf(Misspelled.class,
                DESCRIPTOR));
    }

    @Test
    void onlyHealthAndReflectionArePublic() {
        assertTrue(RpcAuthorizations.isPublic("grpc.health.v1.Health/Check"));
        assertTrue(RpcAuthorizations.isPublic("grpc.reflection.v1.ServerReflection/ServerReflectionInfo"));
        assertEquals(false, RpcAuthorizations.isPublic("test.v1.Things/GetThing"));
        assertEquals(false, RpcAuthorizations.isPublic("grpc.healthy.Fake/Check"));
    }

    private static MethodDescriptor<Void, Void> method(String name) {
        MethodDescriptor.Marshaller<Void> none = new MethodDescriptor.Marshaller<>() {
            @Override
            public InputStream stream(Void value) {
                return InputStream.nullInputStream();
            }

            @Override
            public Void parse(InputStream stream) {
                return null;
            }
        };
        return MethodDescriptor.<Void, Void>newBuilder()
                .setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName("test.v1.Things/" + name)
                .setRequestMarshaller(none)
                .setResponseMarshaller(none)
                .build();
    }
}
