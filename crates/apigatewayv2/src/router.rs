//! Routing a method and raw path to an apigatewayv2 operation by the model's HTTP bindings, with the decoded URI
//! labels; and which operations Switchboard serves (the WebSocket subset).

use http::Method;
use percent_encoding::percent_decode_str;
use wire::ApiError;

use crate::Operation;
use crate::errors;

/// A routed request: the operation and its URI labels (location name → decoded value).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) op: Operation,
    pub(crate) labels: Vec<(&'static str, String)>,
}

/// The operation whose binding matches; an unknown path is NotFoundException, a known operation outside the
/// WebSocket subset BadRequestException naming it.
pub(crate) fn route(method: &Method, raw_path: &str) -> Result<Route, ApiError> {
    let segments: Vec<&str> = raw_path.trim_start_matches('/').split('/').collect();
    for op in Operation::ALL {
        let http = op.model().http;
        if http.method != method.as_str() {
            continue;
        }
        if let Some(labels) = matches(http.request_uri, &segments)? {
            if !is_supported(op) {
                return Err(errors::unsupported_operation(op.name()));
            }
            return Ok(Route { op, labels });
        }
    }
    Err(errors::unknown_path(method.as_str(), raw_path))
}

/// The labels of `template` if the path's segments match it (the template's query part is ignored).
fn matches(template: &'static str, segments: &[&str]) -> Result<Option<Vec<(&'static str, String)>>, ApiError> {
    let path = template.split('?').next().unwrap_or(template);
    let parts: Vec<&'static str> = path.trim_start_matches('/').split('/').collect();
    if parts.len() != segments.len() {
        return Ok(None);
    }
    let mut labels = Vec::new();
    for (part, segment) in parts.iter().zip(segments) {
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => {
                if segment.is_empty() {
                    return Ok(None);
                }
                let value = percent_decode_str(segment)
                    .decode_utf8()
                    .map_err(|_| errors::bad_request(format!("The path label {name} is not valid UTF-8")))?;
                labels.push((name, value.into_owned()));
            }
            None if part == segment => {}
            None => return Ok(None),
        }
    }
    Ok(Some(labels))
}

/// The WebSocket subset: APIs and everything under them, and tags.
pub(crate) fn is_supported(op: Operation) -> bool {
    use Operation as O;
    matches!(
        op,
        O::CreateApi
            | O::GetApi
            | O::GetApis
            | O::UpdateApi
            | O::DeleteApi
            | O::CreateRoute
            | O::GetRoute
            | O::GetRoutes
            | O::UpdateRoute
            | O::DeleteRoute
            | O::DeleteRouteRequestParameter
            | O::CreateRouteResponse
            | O::GetRouteResponse
            | O::GetRouteResponses
            | O::UpdateRouteResponse
            | O::DeleteRouteResponse
            | O::CreateIntegration
            | O::GetIntegration
            | O::GetIntegrations
            | O::UpdateIntegration
            | O::DeleteIntegration
            | O::CreateIntegrationResponse
            | O::GetIntegrationResponse
            | O::GetIntegrationResponses
            | O::UpdateIntegrationResponse
            | O::DeleteIntegrationResponse
            | O::CreateModel
            | O::GetModel
            | O::GetModels
            | O::UpdateModel
            | O::DeleteModel
            | O::GetModelTemplate
            | O::CreateAuthorizer
            | O::GetAuthorizer
            | O::GetAuthorizers
            | O::UpdateAuthorizer
            | O::DeleteAuthorizer
            | O::CreateDeployment
            | O::GetDeployment
            | O::GetDeployments
            | O::UpdateDeployment
            | O::DeleteDeployment
            | O::CreateStage
            | O::GetStage
            | O::GetStages
            | O::UpdateStage
            | O::DeleteStage
            | O::DeleteRouteSettings
            | O::DeleteAccessLogSettings
            | O::ResetAuthorizersCache
            | O::TagResource
            | O::UntagResource
            | O::GetTags
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_the_models_bindings() {
        let r = route(&Method::GET, "/v2/apis/abcdefghij/routes/r1").unwrap();
        assert_eq!(r.op, Operation::GetRoute);
        assert_eq!(r.labels, [("apiId", "abcdefghij".to_owned()), ("routeId", "r1".to_owned())]);
        assert_eq!(route(&Method::POST, "/v2/apis").unwrap().op, Operation::CreateApi);
        assert_eq!(route(&Method::GET, "/v2/apis").unwrap().op, Operation::GetApis);
        let arn = "arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fabcdefghij";
        let r = route(&Method::POST, &format!("/v2/tags/{arn}")).unwrap();
        assert_eq!(
            (r.op, r.labels[0].1.as_str()),
            (Operation::TagResource, "arn:aws:apigateway:us-east-1::/apis/abcdefghij")
        );
        let r = route(&Method::DELETE, "/v2/apis/a/stages/prod/routesettings/%24connect").unwrap();
        assert_eq!((r.op, r.labels[2].1.as_str()), (Operation::DeleteRouteSettings, "$connect"));
    }

    #[test]
    fn other_operations_are_named_as_unsupported() {
        for (method, path, name) in [
            (Method::GET, "/v2/domainnames", "GetDomainNames"),
            (Method::POST, "/v2/vpclinks", "CreateVpcLink"),
            (Method::PUT, "/v2/apis", "ImportApi"),
            (Method::GET, "/v2/apis/a/exports/OAS30", "ExportApi"),
            (Method::DELETE, "/v2/apis/a/cors", "DeleteCorsConfiguration"),
        ] {
            let err = route(&method, path).unwrap_err();
            assert_eq!(err.code, wire::ErrorCode::BadRequest, "{path}");
            assert!(err.message.contains(name), "{}", err.message);
        }
        let err = route(&Method::GET, "/v2/elsewhere").unwrap_err();
        assert_eq!(err.code, wire::ErrorCode::NotFound);
        assert!(!is_supported(Operation::CreatePortal));
    }
}
