//! TagResource, UntagResource and ListTagsForResource at `/tags/{resourceArn}`.

use serde_json::{Value, json};
use store::ResourceRef;
use wire::ApiError;

use crate::config::MAX_TAGS;
use crate::operation::Operation;
use crate::validate::{Object, RESOURCE_ARN_RULE, Reader, TAG_KEY};
use crate::{ControlPlane, arn, errors, shapes};

impl ControlPlane {
    /// Checks the `resourceArn` label into `r`; the resource it names once `r` has no failures.
    fn read_resource_arn(&self, r: &mut Reader, label: Option<Result<String, ()>>) -> Option<String> {
        match label {
            None => {
                r.fail("resourceArn", "Member must not be null");
                None
            }
            Some(Err(())) => {
                r.fail("resourceArn", "Member must be valid percent-encoded UTF-8");
                None
            }
            Some(Ok(s)) => r.check_str("resourceArn", &s, RESOURCE_ARN_RULE).then_some(s),
        }
    }

    /// The resource an ARN (already validated) names, or ResourceNotFoundException for another region/account.
    fn resource(&self, resource_arn: &str) -> Result<ResourceRef, ApiError> {
        let Some(parsed) = arn::parse(resource_arn) else {
            return Err(errors::field("resourceArn", "Member must be an ivschat ARN"));
        };
        if parsed.region != self.config.region || parsed.account != self.config.account_id {
            return Err(errors::not_found(&self.config, parsed.kind, parsed.id));
        }
        Ok(ResourceRef { kind: parsed.kind, id: parsed.id.to_owned() })
    }

    pub(crate) async fn tag_resource(
        &self,
        label: Option<Result<String, ()>>,
        mut input: Object,
    ) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let resource_arn = self.read_resource_arn(&mut r, label);
        let tags = r.tags(&mut input, true);
        r.end(input);
        r.finish()?;
        let resource = self.resource(&resource_arn.unwrap_or_default())?;
        self.admit(Operation::TagResource, Some(&resource.id))?;
        self.store
            .tag_resource(&resource, &tags.unwrap_or_default(), MAX_TAGS)
            .await
            .map_err(|e| self.store_error(e))?;
        Ok(json!({}))
    }

    pub(crate) async fn untag_resource(
        &self,
        label: Option<Result<String, ()>>,
        tag_keys: Option<Vec<Result<String, ()>>>,
        input: Object,
    ) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let resource_arn = self.read_resource_arn(&mut r, label);
        let keys = match tag_keys {
            None => {
                r.fail("tagKeys", "Member must not be null");
                None
            }
            Some(values) => r.strings("tagKeys", values.into_iter(), Some(MAX_TAGS), TAG_KEY),
        };
        drop(input);
        r.finish()?;
        let resource = self.resource(&resource_arn.unwrap_or_default())?;
        self.admit(Operation::UntagResource, Some(&resource.id))?;
        self.store.untag_resource(&resource, &keys.unwrap_or_default()).await.map_err(|e| self.store_error(e))?;
        Ok(json!({}))
    }

    pub(crate) async fn list_tags_for_resource(
        &self,
        label: Option<Result<String, ()>>,
        input: Object,
    ) -> Result<Value, ApiError> {
        let mut r = self.reader();
        let resource_arn = self.read_resource_arn(&mut r, label);
        drop(input);
        r.finish()?;
        let resource = self.resource(&resource_arn.unwrap_or_default())?;
        self.admit(Operation::ListTagsForResource, Some(&resource.id))?;
        let tags = self.store.list_tags(&resource).await.map_err(|e| self.store_error(e))?;
        Ok(json!({"tags": shapes::tags(&tags)}))
    }
}
