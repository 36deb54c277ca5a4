//! What the derived document cannot say by itself, added once it is assembled: the
//! 429 every limited route can answer, headers that are never null, and closed sets
//! (currencies, time zones) taken from the server's own tables.

use serde_json::Value;

/// Every route but the probes can answer 429 (`crate::limits::rate_limit`, a layer
/// around them all): stated once here rather than on each handler. A route that
/// documents its own 429 (the live ones: too many sockets) keeps its description.
pub(super) fn add_rate_limited(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let response = ResponseBuilder::new()
        .description("Over the per-token or per-address rate limit (`rate_limited`): retry after `Retry-After` seconds")
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::Integer))
                .description(Some("Seconds until a request will be let through"))
                .build(),
        )
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
        )
        .build();
    for (path, item) in &mut document.paths.paths {
        if matches!(path.as_str(), "/healthz" | "/readyz") {
            continue;
        }
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            headers_are_never_null(operation);
            operation
                .responses
                .responses
                .entry("429".to_owned())
                .or_insert_with(|| response.clone().into());
        }
    }
}

/// A header is sent or not; it has no null. utoipa makes an `Option` header
/// nullable, which tells a client it may send the text `null`.
fn headers_are_never_null(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::schema::{Schema, SchemaType, Type};
    use utoipa::openapi::RefOr;
    for parameter in operation.parameters.iter_mut().flatten() {
        if parameter.parameter_in != ParameterIn::Header {
            continue;
        }
        if let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut() {
            if let SchemaType::Array(types) = &schema.schema_type {
                let kept: Vec<Type> = types
                    .iter()
                    .filter(|t| **t != Type::Null)
                    .cloned()
                    .collect();
                if let [only] = kept.as_slice() {
                    schema.schema_type = SchemaType::Type(only.clone());
                }
            }
        }
    }
}

/// Makes `schema.property` one of `values` (or null, if it may be null).
pub(super) fn allow_only(
    document: &mut utoipa::openapi::OpenApi,
    schema: &str,
    property: &str,
    values: &[&str],
) {
    use utoipa::openapi::schema::{Schema, SchemaType, Type};
    use utoipa::openapi::RefOr;
    let Some(components) = document.components.as_mut() else {
        return;
    };
    let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(schema) else {
        return;
    };
    let Some(RefOr::T(Schema::Object(field))) = object.properties.get_mut(property) else {
        return;
    };
    let nullable =
        matches!(&field.schema_type, SchemaType::Array(types) if types.contains(&Type::Null));
    let mut allowed: Vec<Value> = values.iter().map(|v| Value::from(*v)).collect();
    if nullable {
        allowed.push(Value::Null);
    }
    field.enum_values = Some(allowed);
}
