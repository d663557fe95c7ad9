// Cloud Code of the production setup: every new Note belongs to the user who saves it (read and write for them
// alone), the ownership pattern of Parse's security guide. The class-level permissions in deploy.py require a
// logged-in user for every operation on the class.
Parse.Cloud.beforeSave('Note', request => {
  if (!request.original && request.user) {
    request.object.setACL(new Parse.ACL(request.user));
  }
});
